;; Runs until stopped: the task name "loop". Shows that stop ends a task at once.
(module
  (func (export "loop")
    (loop $forever (br $forever))))
