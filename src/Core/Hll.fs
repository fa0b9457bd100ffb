/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Hll

let private placeholder = ()
