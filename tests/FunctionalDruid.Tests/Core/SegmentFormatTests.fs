module FunctionalDruid.Tests.Core.SegmentFormatTests

open System
open System.Collections.Generic
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.Bitmap

let private stringPool =
    [| null; ""; "a"; "b"; "A"; "é"; "日本"; "😀"; "\uE000"; "\uFFFF"; "zz"; " a"; "a\u0000b"; "ab" |]

let private randomString (rng: Random) =
    match rng.Next 4 with
    | 0 | 1 -> stringPool[rng.Next stringPool.Length]
    | 2 -> String(Array.init (rng.Next(0, 5)) (fun _ -> char (rng.Next(32, 127))))
    | _ -> "v" + string (rng.Next 400)

/// Dictionary-encodes cells in first-seen order, as ingestion does.
let private encode (cells: string[][]) : string[] * int[][] =
    let interner = StringInterner()
    let rows = cells |> Array.map (Array.map interner.Id)
    interner.Values, rows

let private randomNulls (rng: Random) (rowCount: int) =
    match rng.Next 3 with
    | 0 -> None
    | 1 -> Some(Array.zeroCreate<bool> rowCount)
    | _ -> Some(Array.init rowCount (fun _ -> rng.Next 4 = 0))

let private zeroAt (nulls: bool[] option) (values: 'T[]) =
    match nulls with
    | Some n -> values |> Array.mapi (fun i v -> if n[i] then Unchecked.defaultof<'T> else v)
    | None -> values

/// Array rows: some null, some empty, elements null now and then (flagged, or for strings
/// also as null strings).
let private randomArrays (rng: Random) (rowCount: int) (element: Random -> 'T) : ArrayColumnData<'T> =
    let offsets = Array.zeroCreate<int> (rowCount + 1)
    let values = ResizeArray<'T>()
    let elementNulls = ResizeArray<bool>()
    let rowNulls = Array.init rowCount (fun _ -> rng.Next 8 = 0)
    for r in 0 .. rowCount - 1 do
        if not rowNulls[r] then
            for _ in 1 .. rng.Next 4 do
                let isNull = rng.Next 6 = 0
                values.Add(if isNull then Unchecked.defaultof<'T> else element rng)
                elementNulls.Add isNull
        offsets[r + 1] <- values.Count
    { Offsets = offsets
      Values = values.ToArray()
      ElementNulls = (if elementNulls.Contains true then Some(elementNulls.ToArray()) else None)
      RowNulls = (if Array.contains true rowNulls then Some rowNulls else None) }

let private randomColumn (rng: Random) (rowCount: int) (metric: bool) : ColumnData =
    match rng.Next(if metric then 4 else 10) with
    | 0 ->
        let n = randomNulls rng rowCount
        ColumnData.Longs(zeroAt n (Array.init rowCount (fun _ -> rng.NextInt64(-1000000000000L, 1000000000000L))), n)
    | 1 ->
        let n = randomNulls rng rowCount
        ColumnData.Floats(zeroAt n (Array.init rowCount (fun _ -> if rng.Next 50 = 0 then Single.NaN else float32 (rng.NextDouble() * 100.0))), n)
    | 2 ->
        let n = randomNulls rng rowCount
        ColumnData.Doubles(zeroAt n (Array.init rowCount (fun _ -> if rng.Next 50 = 0 then -0.0 else rng.NextDouble() * 1e9)), n)
    | 3 ->
        let blobs = Array.init rowCount (fun _ -> if rng.Next 10 = 0 then null else Array.init (rng.Next 12) (fun _ -> byte (rng.Next 4)))
        ColumnData.Complex("hyperUnique", blobs)
    | 4 ->
        let dictionary, rows = encode (Array.init rowCount (fun _ -> [| randomString rng |]))
        ColumnData.Strings { Dictionary = dictionary; Ids = Array.map Array.head rows; MultiIds = None; HasBitmapIndex = rng.Next 4 > 0 }
    | 5 ->
        let cells = Array.init rowCount (fun _ -> Array.init (rng.Next 4) (fun _ -> randomString rng))
        let dictionary, rows = encode cells
        ColumnData.Strings { Dictionary = dictionary; Ids = [||]; MultiIds = Some rows; HasBitmapIndex = rng.Next 4 > 0 }
    | 6 -> ColumnData.LongArrays(randomArrays rng rowCount (fun r -> r.NextInt64(-1000000000000L, 1000000000000L)))
    | 7 -> ColumnData.DoubleArrays(randomArrays rng rowCount (fun r -> if r.Next 20 = 0 then -0.0 else r.NextDouble() * 1e6))
    | 8 -> ColumnData.StringArrays(randomArrays rng rowCount randomString)
    | _ ->
        let tree (r: Random) =
            match r.Next 4 with
            | 0 -> Nested.JsonTree.Object [| "a", Nested.JsonTree.Long(r.NextInt64 100L); "b", Nested.JsonTree.Bool(r.Next 2 = 0) |]
            | 1 -> Nested.JsonTree.Array [| Nested.JsonTree.Array [| Nested.JsonTree.String(randomString r) |]; Nested.JsonTree.Null |]
            | 2 -> Nested.JsonTree.Double(r.NextDouble())
            | _ -> Nested.JsonTree.Null
        AutoType.toColumn AutoType.AutoType.Json (Array.init rowCount (fun _ -> tree rng))

let randomContent (rng: Random) : SegmentContent =
    let rowCount =
        match rng.Next 10 with
        | 0 -> 0
        | 1 -> [| 1; 8191; 8192; 8193; 16385 |][rng.Next 5]
        | _ -> rng.Next 3001
    let start = rng.NextInt64(-100000000000L, 2000000000000L)
    let times = Array.zeroCreate<int64> rowCount
    let mutable t = start
    for i in 0 .. rowCount - 1 do
        t <- t + int64 (rng.Next 3) * int64 (rng.Next(1, 5000))
        times[i] <- t
    { Interval = { Start = start; End = t + 1L }
      Times = times
      Dimensions = [ for i in 1 .. rng.Next 5 -> sprintf "d%d" i, randomColumn rng rowCount false ]
      Metrics = [ for i in 1 .. rng.Next 4 -> sprintf "m%d" i, randomColumn rng rowCount true ]
      Metadata = if rng.Next 2 = 0 then "" else """{"rollup":true,"name":"日本"}""" }

/// Per-row values as text, independent of dictionary ids.
let private cells (rowCount: int) (data: ColumnData) : string[] =
    let show (s: string) = if isNull s then "<null>" else "'" + s + "'"
    let isNull (n: bool[] option) r = match n with Some n -> n[r] | None -> false
    match data with
    | ColumnData.Strings s ->
        match s.MultiIds with
        | Some rows -> rows |> Array.map (fun ids -> "[" + String.Join("\u0001", ids |> Array.map (fun i -> show s.Dictionary[i])) + "]")
        | None -> s.Ids |> Array.map (fun i -> show s.Dictionary[i])
    | ColumnData.Longs(v, n) -> Array.init rowCount (fun r -> if isNull n r then "null" else string v[r])
    | ColumnData.Floats(v, n) -> Array.init rowCount (fun r -> if isNull n r then "null" else string (BitConverter.SingleToInt32Bits v[r]))
    | ColumnData.Doubles(v, n) -> Array.init rowCount (fun r -> if isNull n r then "null" else string (BitConverter.DoubleToInt64Bits v[r]))
    | ColumnData.Complex(t, v) -> v |> Array.map (fun b -> t + ":" + (if Object.ReferenceEquals(b, null) then "null" else Convert.ToHexString b))
    | ColumnData.LongArrays _ | ColumnData.StringArrays _ -> Array.init rowCount (fun r -> sprintf "%A" (data.Cell r))
    | ColumnData.DoubleArrays a ->
        // bit patterns, so -0.0 and 0.0 differ
        Array.init rowCount (fun r ->
            if a.IsNullRow r then "null"
            else
                String.Join(",", [| for i in a.Offsets[r] .. a.Offsets[r + 1] - 1 ->
                                     if a.IsNullElement i then "null" else string (BitConverter.DoubleToInt64Bits a.Values[i]) |]) |> sprintf "[%s]")

let private describe (content: SegmentContent) =
    let column (name: string, data: ColumnData) =
        let flags =
            match data with
            | ColumnData.Strings s -> sprintf "index=%b multi=%b" s.HasBitmapIndex s.MultiIds.IsSome
            | _ -> ""
        name, data.Type, flags, cells content.Times.Length data
    content.Interval, content.Times, content.Metadata, List.map column content.Dimensions, List.map column content.Metrics

let private openBytes (bytes: byte[]) =
    match SegmentFormat.tryOpen (ReadOnlyMemory bytes) with
    | Ok r -> r
    | Error e -> failtestf "open failed: %s" e

let private rowsOf (b: Bitmap option) = b |> Option.map toRows

/// Rows holding each id, from the reader's own ids (empty multi-value rows go under null).
let private expectedBitmaps (rowCount: int) (s: StringColumnReader) =
    let offsets, ids = s.MultiValueRows()
    let lists = Array.init s.Cardinality (fun _ -> SortedSet<int>())
    for r in 0 .. rowCount - 1 do
        if offsets[r] = offsets[r + 1] then lists[0].Add r |> ignore
        for j in offsets[r] .. offsets[r + 1] - 1 do
            lists[ids[j]].Add r |> ignore
    lists |> Array.map Seq.toArray

let private config = { FsCheckConfig.defaultConfig with maxTest = 60 }

let private small : SegmentContent =
    { Interval = { Start = 0L; End = 10000L }
      Times = [| 1000L; 1000L; 2000L |]
      Dimensions =
        [ "page", ColumnData.Strings { Dictionary = [| "b"; null; "a" |]; Ids = [| 0; 1; 2 |]; MultiIds = None; HasBitmapIndex = true }
          "tags", ColumnData.Strings { Dictionary = [| "y"; "x" |]; Ids = [||]; MultiIds = Some [| [| 0; 1 |]; [||]; [| 1 |] |]; HasBitmapIndex = true } ]
      Metrics = [ "count", ColumnData.Longs([| 1L; 2L; 0L |], Some [| false; false; true |]); "sum", ColumnData.Doubles([| 1.9; -1.9; nan |], None) ]
      Metadata = """{"queryGranularity":"none"}""" }

[<Tests>]
let tests =
    testList "SegmentFormat" [
        test "a small segment reads back exactly" {
            let r = openBytes (SegmentFormat.write small)
            Expect.equal r.RowCount 3 "rows"
            Expect.equal r.Interval small.Interval "interval"
            Expect.equal r.Metadata small.Metadata "metadata"
            Expect.equal (r.Columns |> List.map (fun c -> c.Name, c.Type, c.Role))
                [ "page", ColumnType.String, ColumnRole.Dimension; "tags", ColumnType.String, ColumnRole.Dimension
                  "count", ColumnType.Long, ColumnRole.Metric; "sum", ColumnType.Double, ColumnRole.Metric ] "columns"
            Expect.equal (r.Times()) [| 1000L; 1000L; 2000L |] "times"
            let page = (r.StringColumn "page").Value
            Expect.equal (page.Dictionary()) [| null; "a"; "b" |] "sorted dictionary, null first"
            Expect.equal (page.Ids()) [| 2; 0; 1 |] "remapped ids"
            Expect.equal (page.LookupId "a") 1 "lookup"
            Expect.equal (page.LookupId null) 0 "lookup null"
            Expect.equal (page.LookupId "c") -1 "absent"
            Expect.equal (page.LowerBound "aa") 2 "lower bound"
            Expect.equal [ for id in 0..2 -> rowsOf (page.ValueBitmap id) ] [ Some [| 1 |]; Some [| 2 |]; Some [| 0 |] ] "bitmaps"
            let tags = (r.StringColumn "tags").Value
            Expect.isTrue tags.IsMultiValue "multi"
            Expect.equal (tags.Dictionary()) [| null; "x"; "y" |] "empty rows bring a null entry"
            Expect.equal (tags.MultiIds()) [| [| 2; 1 |]; [||]; [| 1 |] |] "multi ids keep row order"
            Expect.equal [ for id in 0..2 -> rowsOf (tags.ValueBitmap id) ] [ Some [| 1 |]; Some [| 0; 2 |]; Some [| 0 |] ] "multi bitmaps"
            let count = (r.NumericColumn "count").Value
            Expect.equal (count.Longs()) [| 1L; 2L; 0L |] "longs"
            Expect.equal (rowsOf (count.Nulls())) (Some [| 2 |]) "nulls"
            let sum = (r.NumericColumn "sum").Value
            Expect.equal (sum.Longs()) [| 1L; -1L; 0L |] "doubles as longs truncate, NaN is 0"
            Expect.isNone (sum.Nulls()) "no nulls"
            Expect.equal (r.TimeRange(1000L, 2000L)) (0, 2) "time range"
            Expect.equal (r.TimeRange(1500L, 5000L)) (2, 3) "time range to the end"
            Expect.equal (r.TimeRange(3000L, 1000L)) (3, 3) "empty range"
            Expect.isNone (r.Column "missing") "missing column"
        }
        test "a dictionary too large for 16-bit ids" {
            let n = 70000
            let dictionary = Array.init n (fun i -> sprintf "k%06d" (n - i))
            let ids = Array.init (n + 5) (fun i -> i % n)
            let content =
                { small with
                    Times = Array.zeroCreate (n + 5)
                    Dimensions = [ "k", ColumnData.Strings { Dictionary = dictionary; Ids = ids; MultiIds = None; HasBitmapIndex = false } ]
                    Metrics = [] }
            let r = openBytes (SegmentFormat.write content)
            let k = (r.StringColumn "k").Value
            Expect.equal k.Cardinality n "cardinality"
            Expect.equal (k.DictionaryValue 0) "k000001" "smallest first"
            Expect.equal (k.LookupId "k070000") (n - 1) "largest"
            let back = k.Ids()
            Expect.equal (back[0]) (n - 1) "first row holds the largest value"
            Expect.equal (k.ValueBitmap 0) None "no index"
            Expect.equal (describe (SegmentFormat.readContent r)) (describe content) "round trip"
        }
        testPropertyWithConfig config "write, open, readContent gives back the rows" <| fun (seed: int) ->
            let content = randomContent (Random seed)
            let bytes = SegmentFormat.write content
            let r = openBytes bytes
            Expect.equal (describe (SegmentFormat.readContent r)) (describe content) "content"
            Expect.equal (SegmentFormat.verify (ReadOnlyMemory bytes)) (Ok()) "verify"
            let again = System.Buffers.ArrayBufferWriter<byte>()
            SegmentFormat.writeTo again content
            Expect.isTrue (again.WrittenSpan.SequenceEqual(ReadOnlySpan bytes)) "writing is deterministic, every byte written"
            for info in r.Columns do
                match r.Column info.Name with
                | Some(ColumnReader.String s) ->
                    let dictionary = s.Dictionary()
                    for id in 1 .. dictionary.Length - 1 do
                        Expect.isLessThan (SegmentEncoding.compareDictionaryValues dictionary[id - 1] dictionary[id]) 0 "sorted and distinct"
                    for id in 0 .. dictionary.Length - 1 do
                        Expect.equal (s.LookupId dictionary[id]) id "lookup"
                    for probe in stringPool do
                        if not (isNull probe) then
                            let linear = dictionary |> Array.tryFindIndex (fun v -> not (isNull v) && SegmentEncoding.compareDictionaryValues v probe >= 0)
                            Expect.equal (s.LowerBound probe) (defaultArg linear dictionary.Length) "lower bound"
                            if not (Array.contains probe dictionary) then Expect.equal (s.LookupId probe) -1 "absent"
                    if s.HasBitmapIndex then
                        let expected = expectedBitmaps r.RowCount s
                        for id in 0 .. s.Cardinality - 1 do
                            Expect.equal (rowsOf (s.ValueBitmap id)) (Some expected[id]) "bitmap of a value"
                | _ -> ()
        testPropertyWithConfig config "TimeRange agrees with a linear scan" <| fun (seed: int) ->
            let rng = Random seed
            let content = randomContent rng
            let r = openBytes (SegmentFormat.write content)
            let times = content.Times
            let pick () =
                if times.Length > 0 && rng.Next 3 > 0 then times[rng.Next times.Length] + int64 (rng.Next(-1, 2))
                else content.Interval.Start + rng.NextInt64(-10L, content.Interval.End - content.Interval.Start + 10L)
            for _ in 1..20 do
                let a, b = pick (), pick ()
                let first = times |> Array.filter (fun t -> t < a) |> Array.length
                let stop = if b <= a then first else times |> Array.filter (fun t -> t < b) |> Array.length
                Expect.equal (r.TimeRange(a, b)) (first, stop) (sprintf "[%d, %d)" a b)
        test "writer rejects content that breaks its contract" {
            Expect.throwsT<ArgumentException> (fun () -> SegmentFormat.write { small with Times = [| 2L; 1L; 3L |] } |> ignore) "unsorted times"
            Expect.throwsT<ArgumentException> (fun () -> SegmentFormat.write { small with Metrics = [ "x", ColumnData.Longs([| 1L |], None) ] } |> ignore) "short column"
            Expect.throwsT<ArgumentException> (fun () -> SegmentFormat.write { small with Metrics = [ "page", ColumnData.Longs([| 1L; 2L; 3L |], None) ] } |> ignore) "duplicate name"
            let badIds = ColumnData.Strings { Dictionary = [| "a" |]; Ids = [| 0; 1; 0 |]; MultiIds = None; HasBitmapIndex = true }
            Expect.throwsT<ArgumentException> (fun () -> SegmentFormat.write { small with Dimensions = [ "bad", badIds ] } |> ignore) "id outside dictionary"
        }
        test "corrupt and truncated files are errors" {
            let bytes = SegmentFormat.write small
            Expect.isError (SegmentFormat.tryOpen (ReadOnlyMemory [||])) "empty"
            let badMagic = Array.copy bytes
            badMagic[0] <- byte 'X'
            Expect.equal (SegmentFormat.tryOpen (ReadOnlyMemory badMagic) |> Result.mapError id |> Result.map ignore) (Error "segment: not a segment file (bad magic)") "magic"
            let badVersion = Array.copy bytes
            badVersion[8] <- 99uy
            Expect.equal (SegmentFormat.tryOpen (ReadOnlyMemory badVersion) |> Result.map ignore) (Error "segment: unsupported format version 99") "version"
            for length in 0 .. bytes.Length - 1 do
                Expect.isError (SegmentFormat.tryOpen (ReadOnlyMemory(bytes, 0, length))) (sprintf "truncated to %d" length)
            Expect.isOk (SegmentFormat.tryOpen (ReadOnlyMemory(Array.append bytes [| 0uy; 0uy |]))) "trailing padding is fine"
        }
        testPropertyWithConfig config "damaged files never throw from tryOpen or verify" <| fun (seed: int) ->
            let rng = Random seed
            let bytes = SegmentFormat.write (randomContent rng)
            for _ in 1 .. rng.Next(1, 6) do
                let i = rng.Next bytes.Length
                bytes[i] <- byte (rng.Next 256)
            match SegmentFormat.tryOpen (ReadOnlyMemory bytes) with
            | Ok _ -> SegmentFormat.verify (ReadOnlyMemory bytes) |> ignore
            | Error _ -> ()
    ]
