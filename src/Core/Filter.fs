/// (stub until the expr-filter branch lands)
module FunctionalDruid.Core.Filter
open FunctionalDruid.Core
type Filter = Selector of string * string option | True
let parse (n: Json.Node) : Filter = Selector(Json.requiredString n "dimension", Json.optString n "value")
let matchesRow (row: string -> Value) (f: Filter) =
    match f with
    | True -> true
    | Selector(d, v) -> Value.toStrings (row d) |> Array.exists (fun s -> (if isNull s then None else Some s) = v)
let requiredColumns (f: Filter) = match f with Selector(d, _) -> [ d ] | True -> []
let singleColumnPredicate (f: Filter) : (string * (Value -> bool)) option = None
