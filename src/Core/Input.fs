/// (stub until the input branch lands)
module FunctionalDruid.Core.Input
open System.Collections.Generic
open FunctionalDruid.Core
type InputRow = IReadOnlyDictionary<string, Value>
type InputFormat = Json
type RowResult = Row of InputRow | Unparseable of message: string
let parseInputFormat (n: Json.Node) : InputFormat = Json
let parseLegacyParseSpec (n: Json.Node) : InputFormat = Json
let readLines (f: InputFormat) (lines: seq<string>) : seq<RowResult> =
    lines |> Seq.filter (fun l -> l.Trim() <> "") |> Seq.map (fun l ->
        use d = System.Text.Json.JsonDocument.Parse l
        let dict = Dictionary<string, Value>()
        for p in d.RootElement.EnumerateObject() do
            dict.[p.Name] <- (match p.Value.ValueKind with
                              | System.Text.Json.JsonValueKind.Number -> (match p.Value.TryGetInt64() with | true, v -> Value.Long v | _ -> Value.Double(p.Value.GetDouble()))
                              | System.Text.Json.JsonValueKind.String -> Value.String(p.Value.GetString())
                              | _ -> Value.Null)
        Row(dict :> InputRow))
