/// (placeholder: implemented by its own landing)
module FunctionalDruid.Core.Expr

let private placeholder = ()
