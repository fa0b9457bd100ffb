/// (stub until the input branch lands)
module FunctionalDruid.Core.TimestampSpec
open FunctionalDruid.Core
type TimestampSpec = { Column: string; Format: string; MissingValue: int64 option }
let parse (n: Json.Node) : TimestampSpec =
    { Column = Json.stringOr n "column" "timestamp"; Format = Json.stringOr n "format" "auto"; MissingValue = Json.optString n "missingValue" |> Option.bind Time.tryParseInstant }
let extract (spec: TimestampSpec) (v: Value) : Result<int64, string> =
    match v with
    | Value.Long l -> Ok l
    | Value.String s -> (match Time.tryParseInstant s with Some t -> Ok t | None -> Error(sprintf "Unparseable timestamp found! Event: %s" s))
    | _ -> match spec.MissingValue with Some m -> Ok m | None -> Error "Unparseable timestamp found! Event: null"
