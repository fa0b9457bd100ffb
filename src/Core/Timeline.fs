/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Timeline

let private placeholder = ()
