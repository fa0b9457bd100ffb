/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.TimestampSpec

let private placeholder = ()
