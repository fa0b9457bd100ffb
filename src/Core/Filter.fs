/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Filter

let private placeholder = ()
