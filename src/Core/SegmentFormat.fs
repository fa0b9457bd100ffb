/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.SegmentFormat

let private placeholder = ()
