/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Segment

let private placeholder = ()
