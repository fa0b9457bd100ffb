/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Input

let private placeholder = ()
