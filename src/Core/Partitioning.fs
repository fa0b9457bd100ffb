/// Splitting one time chunk's rows into segment partitions: consecutive runs for dynamic
/// partitioning, hash buckets of the partition dimensions for hashed partitioning.
module FunctionalDruid.Core.Partitioning

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Core.IngestSpec

/// The rows `rows` of a content, in that order.
let slice (content: SegmentContent) (rows: int[]) : SegmentContent =
    let pick (column: ColumnData) =
        match column with
        | ColumnData.Strings s ->
            ColumnData.Strings
                { s with
                    Ids = (if s.MultiIds.IsSome then Array.zeroCreate rows.Length else rows |> Array.map (fun r -> s.Ids.[r]))
                    MultiIds = s.MultiIds |> Option.map (fun m -> rows |> Array.map (fun r -> m.[r])) }
        | ColumnData.Longs(v, n) -> ColumnData.Longs(rows |> Array.map (fun r -> v.[r]), n |> Option.map (fun n -> rows |> Array.map (fun r -> n.[r])))
        | ColumnData.Doubles(v, n) -> ColumnData.Doubles(rows |> Array.map (fun r -> v.[r]), n |> Option.map (fun n -> rows |> Array.map (fun r -> n.[r])))
        | ColumnData.Floats(v, n) -> ColumnData.Floats(rows |> Array.map (fun r -> v.[r]), n |> Option.map (fun n -> rows |> Array.map (fun r -> n.[r])))
        | ColumnData.Complex(t, v) -> ColumnData.Complex(t, rows |> Array.map (fun r -> v.[r]))
        | ColumnData.LongArrays a -> ColumnData.LongArrays(AutoType.sliceArrays a rows)
        | ColumnData.DoubleArrays a -> ColumnData.DoubleArrays(AutoType.sliceArrays a rows)
        | ColumnData.StringArrays a -> ColumnData.StringArrays(AutoType.sliceArrays a rows)
    { content with
        Times = rows |> Array.map (fun r -> content.Times.[r])
        Dimensions = content.Dimensions |> List.map (fun (n, c) -> n, pick c)
        Metrics = content.Metrics |> List.map (fun (n, c) -> n, pick c) }

/// The string form of a row's value in a column, for hashing.
let private cellText (column: ColumnData) (row: int) : string =
    match column with
    | ColumnData.Strings s ->
        match s.MultiIds with
        | Some m -> String.Join("\u0001", m.[row] |> Array.map (fun i -> s.Dictionary.[i]))
        | None -> s.Dictionary.[s.Ids.[row]]
    | ColumnData.Longs(v, n) -> if n.IsSome && n.Value.[row] then null else string v.[row]
    | ColumnData.Doubles(v, n) -> if n.IsSome && n.Value.[row] then null else Value.javaDoubleString v.[row]
    | ColumnData.Floats(v, n) -> if n.IsSome && n.Value.[row] then null else Value.javaDoubleString (float v.[row])
    | ColumnData.Complex(ComplexJson.TypeName, v) -> if isNull v.[row] then null else Text.Encoding.UTF8.GetString v.[row]
    | ColumnData.Complex _ -> null
    | ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _ ->
        Nested.toText (Nested.ofValue (column.Cell row))

/// FNV-1a over the UTF-16 code units of each value with separators: stable across runs and
/// processes, which is all partition assignment needs.
let private hashKey (texts: string seq) =
    let mutable h = 2166136261u
    for t in texts do
        if isNull t then h <- (h ^^^ 0xFFu) * 16777619u
        else
            for c in t do h <- (h ^^^ uint32 c) * 16777619u
        h <- (h ^^^ 0x1Fu) * 16777619u
    h

/// How a time chunk's rows become segment partitions: consecutive runs of at most
/// maxRowsPerSegment (dynamic), or hash buckets of the partition dimensions (hashed, which
/// keeps every rollup key in one partition).
let partition (spec: IngestSpec) (content: SegmentContent) : SegmentContent list =
    let n = content.Times.Length
    match spec.Tuning.Partitions with
    | PartitionsSpec.Dynamic(maxRows, _) ->
        if n <= maxRows then [ content ]
        else [ for start in 0 .. maxRows .. n - 1 -> slice content [| start .. min n (start + maxRows) - 1 |] ]
    | PartitionsSpec.Hashed(numShards, target, partitionDims) ->
        let shards =
            match numShards, target with
            | Some s, _ -> s
            | None, Some t -> max 1 ((n + t - 1) / t)
            | None, None -> max 1 ((n + 5_000_000 - 1) / 5_000_000)
        if shards = 1 then [ content ]
        else
            let columns =
                let all = content.Dimensions
                if partitionDims.IsEmpty then all |> List.map snd
                else partitionDims |> List.choose (fun d -> all |> List.tryFind (fun (name, _) -> name = d) |> Option.map snd)
            let bucketOf row =
                let texts = seq { yield string (Time.bucketStart spec.GranularitySpec.QueryGranularity content.Times.[row]); for c in columns -> cellText c row }
                int (hashKey texts % uint32 shards)
            let assignment = Array.init n bucketOf
            [ for b in 0 .. shards - 1 -> slice content [| for r in 0 .. n - 1 do if assignment.[r] = b then yield r |] ]

