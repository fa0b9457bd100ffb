/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Rollup

let private placeholder = ()
