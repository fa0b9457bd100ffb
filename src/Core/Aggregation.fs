/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Aggregation

let private placeholder = ()
