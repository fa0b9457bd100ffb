/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Engine

let private placeholder = ()
