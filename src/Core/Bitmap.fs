/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Bitmap

let private placeholder = ()
