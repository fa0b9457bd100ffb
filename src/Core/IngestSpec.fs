/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.IngestSpec

let private placeholder = ()
