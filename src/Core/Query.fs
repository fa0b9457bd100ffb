/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Query

let private placeholder = ()
