;; Traps at once (unreachable): the task name "trap". Shows a trap ending Failed with its message.
(module
  (func (export "trap") (result i32)
    unreachable))
