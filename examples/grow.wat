;; grow(pages): asks for that many more 64 KiB pages and returns the old size, or -1 when refused.
;; Shows the proplet's memory limit (PROPLET_MAX_MEMORY).
(module
  (memory 1)
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages))))
