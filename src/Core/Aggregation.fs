/// (stub until the aggregation branch lands)
module FunctionalDruid.Core.Aggregation
open FunctionalDruid.Core
type AggregatorSpec = Count of name: string | LongSum of name: string * fieldName: string
let parse (n: Json.Node) : AggregatorSpec =
    match Json.requiredString n "type" with
    | "count" -> Count(Json.requiredString n "name")
    | _ -> LongSum(Json.requiredString n "name", Json.requiredString n "fieldName")
let name (a: AggregatorSpec) = match a with Count n | LongSum(n, _) -> n
let inputFields (a: AggregatorSpec) = match a with Count _ -> [] | LongSum(_, f) -> [ f ]
let toJson (a: AggregatorSpec) = match a with Count n -> sprintf """{"type":"count","name":"%s"}""" n | LongSum(n, f) -> sprintf """{"type":"longSum","name":"%s","fieldName":"%s"}""" n f
let storageType (a: AggregatorSpec) = ColumnType.Long
type IngestAccumulator =
    abstract Add: group: int * time: int64 * row: (string -> Value) -> unit
    abstract Merge: group: int * source: IngestAccumulator * sourceGroup: int -> unit
    abstract Count: int
    abstract ToColumn: order: int[] -> ColumnData
    abstract BytesPerGroup: int
type private LongAcc(f: int64 -> (string -> Value) -> int64) =
    let values = System.Collections.Generic.List<int64>()
    member _.Values = values
    interface IngestAccumulator with
        member _.Add(g, _, row) = (if g = values.Count then values.Add 0L); values.[g] <- f values.[g] row
        member this.Merge(g, src, sg) = (if g = values.Count then values.Add 0L); values.[g] <- values.[g] + (src :?> LongAcc).Values.[sg]
        member _.Count = values.Count
        member _.ToColumn order = ColumnData.Longs(order |> Array.map (fun i -> values.[i]), None)
        member _.BytesPerGroup = 8
let createAccumulator (a: AggregatorSpec) : IngestAccumulator =
    match a with
    | Count _ -> LongAcc(fun acc _ -> acc + 1L)
    | LongSum(_, f) -> LongAcc(fun acc row -> acc + defaultArg (Value.toLong (row f)) 0L)
let accumulatorOfColumn (a: AggregatorSpec) (c: ColumnData) : IngestAccumulator =
    let acc = LongAcc(fun acc _ -> acc)
    match c with
    | ColumnData.Longs(v, _) -> acc.Values.AddRange v
    | _ -> ()
    acc
/// What an aggregator reports for an empty time bucket: count 0, everything else null.
let emptyValue (a: AggregatorSpec) = match a with Count _ -> Value.Long 0L | _ -> Value.Null
