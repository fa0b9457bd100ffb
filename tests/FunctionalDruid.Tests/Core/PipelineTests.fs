module FunctionalDruid.Tests.Core.PipelineTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Core.IngestSpec

// ---- random input rows -----------------------------------------------------------------------

let private baseTime = (Time.tryParseInstant "2020-01-20T00:00:00Z").Value

/// Times that share days, hours and seconds often, so truncation and ties matter.
let private genTime =
    Gen.map2 (fun day (offset: int64) -> baseTime + int64 day * 86_400_000L + offset)
        (Gen.choose (0, 40))
        (Gen.elements [ 0L; 1L; 999L; 1_000L; 59_000L; 60_000L; 900_000L; 3_599_999L; 3_600_000L; 21_601_000L; 43_200_000L ])

let private word = Gen.elements [ "v0"; "v1"; "v2"; "V1" ]

let private genNullable (g: Gen<Value>) = Gen.frequency [ 1, Gen.constant Value.Null; 4, g ]

/// A string field: null, one value, or a multi-value list (possibly empty).
let private genStringField =
    Gen.frequency
        [ 1, Gen.constant Value.Null
          4, word |> Gen.map Value.String
          2, Gen.choose (0, 3) |> Gen.bind (fun n -> Gen.arrayOfLength n word) |> Gen.map (Array.map Value.String >> Value.Array) ]

let private genLongField = genNullable (Gen.choose (-3, 5) |> Gen.map (int64 >> Value.Long))

type private InputRow = { Time: int64; Fields: (string * Value) list }

let private toInputRow (r: InputRow) =
    let pairs = ("timestamp", Value.Long r.Time) :: r.Fields
    Input.makeRow (pairs |> List.map fst |> Array.ofList) (pairs |> List.map snd |> Array.ofList)

// ---- the transform/filter pipeline (rollup false) --------------------------------------------

/// (name, expression, dimension type); "c" shadows the input column of the same name.
let private transformPool =
    [ "ax", "concat(a, 'x')", "string"
      "b2", "b * 2", "long"
      "au", "upper(a)", "string"
      "sign", "if(b > 0, 'p', 'n')", "string"
      "hour", "timestamp_floor(__time, 'PT1H')", "long"
      "c", "concat(c, '!')", "string" ]

let private filterPool =
    [ None
      Some """{"type":"selector","dimension":"a","value":"v1"}"""
      Some """{"type":"selector","dimension":"c","value":null}"""
      Some """{"type":"bound","dimension":"b","lower":"0","upper":"5","upperStrict":true,"ordering":"numeric"}"""
      Some """{"type":"in","dimension":"c","values":["v0","v2!"]}"""
      Some """{"type":"not","field":{"type":"selector","dimension":"a","value":"v1"}}"""
      Some """{"type":"selector","dimension":"sign","value":"p"}"""
      Some """{"type":"bound","dimension":"ax","lower":"v1","ordering":"lexicographic"}""" ]

type private PipelineCase =
    { Rows: InputRow list
      Transforms: (string * string * string) list
      Filter: string option }

let private genPipelineCase =
    gen {
        let! rows =
            Gen.listOf (Gen.map4 (fun t a b c -> { Time = t; Fields = [ "a", a; "b", b; "c", c ] }) genTime genStringField genLongField (genNullable (word |> Gen.map Value.String)))
        let! count = Gen.choose (1, 3)
        let! shuffled = Gen.shuffle transformPool
        let! filter = Gen.elements filterPool
        return { Rows = rows; Transforms = List.ofArray shuffled |> List.take count; Filter = filter }
    }

let private pipelineSpec (c: PipelineCase) =
    let transformDims =
        c.Transforms
        |> List.filter (fun (name, _, _) -> name <> "c")
        |> List.map (fun (name, _, typ) -> sprintf """{"type":"%s","name":"%s"}""" typ name)
    let dims = String.Join(",", [ "\"a\""; """{"type":"long","name":"b"}"""; "\"c\"" ] @ transformDims)
    let transforms = String.Join(",", c.Transforms |> List.map (fun (name, expr, _) -> sprintf """{"type":"expression","name":"%s","expression":"%s"}""" name expr))
    let filter = match c.Filter with Some f -> sprintf ""","filter":%s""" f | None -> ""
    sprintf """{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"p","timestampSpec":{"column":"timestamp","format":"auto"},
                 "dimensionsSpec":{"dimensions":[%s]},"metricsSpec":[],
                 "granularitySpec":{"segmentGranularity":"day","queryGranularity":"none","rollup":false},
                 "transformSpec":{"transforms":[%s]%s}},
               "ioConfig":{"type":"index_parallel","inputSource":{"type":"inline","data":""},"inputFormat":{"type":"json"}}}}"""
        dims transforms filter
    |> IngestSpecTests.parse

/// How a dimension stores a value: strings as the encoder keeps them (multi-values as a
/// sorted array), numbers converted, nothing as null.
let private stored (dim: DimensionSchema) (v: Value) : Value =
    let str (s: string) = if isNull s then Value.Null else Value.String s
    match dim.Type, v with
    | _, Value.Null | _, Value.Array [||] -> Value.Null
    | DimensionType.String, Value.Array [| one |] -> str (Value.toStringOrNull one)
    | DimensionType.String, Value.Array xs ->
        Value.Array(xs |> Array.map Value.toStringOrNull |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b)) |> Array.map str)
    | DimensionType.String, v -> str (Value.toStringOrNull v)
    | _, v -> match Value.toLong v with Some l -> Value.Long l | None -> Value.Null

/// Druid's row order within a time: null first, strings by code unit, multi-values element by
/// element then by length, numbers by value.
let private compareStored (a: Value) (b: Value) =
    let strings (v: Value) =
        match v with
        | Value.Null -> [| null |]
        | Value.String s -> [| s |]
        | Value.Array xs -> xs |> Array.map Value.toStringOrNull
        | other -> [| Value.toStringOrNull other |]
    match a, b with
    | Value.Long x, Value.Long y -> compare x y
    | Value.Null, Value.Long _ -> -1
    | Value.Long _, Value.Null -> 1
    | _ ->
        let xs, ys = strings a, strings b
        let mutable i = 0
        let mutable c = 0
        while c = 0 && i < xs.Length && i < ys.Length do
            c <- String.CompareOrdinal(xs.[i], ys.[i])
            i <- i + 1
        if c <> 0 then c else compare xs.Length ys.Length

/// Row by row: transforms on the raw row, the filter on the transformed row, then the
/// dimension values, sorted (stably) by time and dimensions.
let private pipelineOracle (spec: IngestSpec) (rows: InputRow list) =
    let transforms = spec.TransformSpec.Transforms
    let kept =
        rows
        |> List.choose (fun r ->
            let raw (name: string) =
                if name = "__time" then Value.Long r.Time
                else r.Fields |> List.tryFind (fun (n, _) -> n = name) |> Option.map snd |> Option.defaultValue Value.Null
            let results = transforms |> List.map (fun t -> t.Name, (try Expr.eval raw t.Expression with _ -> Value.Null))
            let transformed (name: string) =
                match results |> List.tryFind (fun (n, _) -> n = name) with
                | Some(_, v) -> v
                | None -> raw name
            let keep = match spec.TransformSpec.Filter with Some f -> Filter.matchesRow transformed f | None -> true
            if keep then Some(r.Time, spec.DimensionsSpec.Dimensions |> List.map (fun d -> d.Name, stored d (transformed d.Name))) else None)
    let compareRows (t1: int64, d1: (string * Value) list) (t2: int64, d2: (string * Value) list) =
        let c = compare t1 t2
        if c <> 0 then c else List.fold2 (fun acc (_, x) (_, y) -> if acc <> 0 then acc else compareStored x y) 0 d1 d2
    let sorted = List.sortWith compareRows kept
    sorted |> List.map (fun (t, dims) -> Time.formatIso t, dims), rows.Length - kept.Length

// ---- rollup with aggregators ------------------------------------------------------------------

let private granularities = [ "none"; "second"; "minute"; "fifteen_minute"; "hour"; "six_hour"; "day"; "month" ]

type private RollupCase = { Rows: (int64 * string option * string option * int64 option * float option) list; Granularity: string }

let private genRollupCase =
    let optional (g: Gen<'a>) = Gen.frequency [ 1, Gen.constant None; 4, g |> Gen.map Some ]
    gen {
        let! rows =
            Gen.listOf (
                gen {
                    let! t = genTime
                    let! d1 = optional (Gen.elements [ "x"; "y"; "z" ])
                    let! d2 = optional (Gen.elements [ "p"; "q" ])
                    let! x = optional (Gen.choose (-50, 50) |> Gen.map int64)
                    let! y = optional (Gen.choose (-40, 40) |> Gen.map (fun i -> float i * 0.25))
                    return t, d1, d2, x, y })
        let! g = Gen.elements granularities
        return { Rows = rows; Granularity = g }
    }

let private rollupSpec (granularity: string) =
    sprintf """{"type":"index","spec":{"dataSchema":{"dataSource":"r","timestampSpec":{"column":"timestamp"},
                 "dimensionsSpec":{"dimensions":["d1","d2"]},
                 "metricsSpec":[{"type":"count","name":"rows"},{"type":"longSum","name":"xSum","fieldName":"x"},
                                {"type":"doubleSum","name":"ySum","fieldName":"y"},{"type":"longMin","name":"xMin","fieldName":"x"},
                                {"type":"longMax","name":"xMax","fieldName":"x"}],
                 "granularitySpec":{"segmentGranularity":"year","queryGranularity":"%s","rollup":true}},
               "ioConfig":{"inputSource":{"type":"inline","data":""},"inputFormat":{"type":"json"}}}}""" granularity
    |> IngestSpecTests.parse

let private rollupOracle (spec: IngestSpec) (rows: (int64 * string option * string option * int64 option * float option) list) =
    let text (s: string option) = match s with Some v -> Value.String v | None -> Value.Null
    let orNull (f: 'a list -> 'b) (wrap: 'b -> Value) (xs: 'a list) = if xs.IsEmpty then Value.Null else wrap (f xs)
    let keyOrder (s: string option) = match s with None -> "" | Some v -> "\u0001" + v
    rows
    |> List.groupBy (fun (t, d1, d2, _, _) -> Time.bucketStart spec.GranularitySpec.QueryGranularity t, d1, d2)
    |> List.sortWith (fun ((t1, a1, b1), _) ((t2, a2, b2), _) ->
        compare (t1, keyOrder a1, keyOrder b1) (t2, keyOrder a2, keyOrder b2))
    |> List.map (fun ((t, d1, d2), group) ->
        let xs = group |> List.choose (fun (_, _, _, x, _) -> x)
        let ys = group |> List.choose (fun (_, _, _, _, y) -> y)
        Time.formatIso t,
        [ "d1", text d1; "d2", text d2
          "rows", Value.Long(int64 group.Length)
          "xSum", orNull List.sum Value.Long xs
          "ySum", orNull List.sum Value.Double ys
          "xMin", orNull List.min Value.Long xs
          "xMax", orNull List.max Value.Long xs ])

[<Tests>]
let tests =
    testList "Pipeline" [
        testProperty "transforms and filter equal row-by-row evaluation (rollup false)" <| Prop.forAll (Arb.fromGen genPipelineCase) (fun c ->
            let spec = pipelineSpec c
            let index = Rollup.IncrementalIndex spec
            let outcomes = c.Rows |> List.map (toInputRow >> index.Add)
            let actual = index.Snapshot() |> List.collect (RollupTests.rowsOver (spec.DimensionsSpec.Dimensions |> List.map (fun d -> d.Name)))
            let expected, filteredOut = pipelineOracle spec c.Rows
            let thrownAway = outcomes |> List.filter ((=) Rollup.RowOutcome.ThrownAway) |> List.length
            (actual = expected && thrownAway = filteredOut)
            |> Prop.label (sprintf "spec transforms %A filter %A\nactual   %A\nexpected %A\nthrown away %d, filtered %d" c.Transforms c.Filter actual expected thrownAway filteredOut))
        testProperty "rollup with count/longSum/doubleSum/longMin/longMax equals a naive group-by" <| Prop.forAll (Arb.fromGen genRollupCase) (fun c ->
            let spec = rollupSpec c.Granularity
            let index = Rollup.IncrementalIndex spec
            for t, d1, d2, x, y in c.Rows do
                let opt (wrap: 'a -> Value) (v: 'a option) = match v with Some v -> wrap v | None -> Value.Null
                index.Add(Input.makeRow [| "timestamp"; "d1"; "d2"; "x"; "y" |]
                                        [| Value.Long t; opt Value.String d1; opt Value.String d2; opt Value.Long x; opt Value.Double y |]) |> ignore
            let actual = index.Snapshot() |> List.collect (RollupTests.rowsOver (spec.DimensionsSpec.Dimensions |> List.map (fun d -> d.Name)))
            let expected = rollupOracle spec c.Rows
            (actual = expected) |> Prop.label (sprintf "granularity %s\nactual   %A\nexpected %A" c.Granularity actual expected))
        test "a transform filter sees transformed values and a shadowing transform replaces the input column" {
            let case =
                { Rows = [ { Time = baseTime; Fields = [ "a", Value.String "v1"; "b", Value.Long 2L; "c", Value.String "v2" ] }
                           { Time = baseTime; Fields = [ "a", Value.String "v0"; "b", Value.Long 2L; "c", Value.String "v0" ] } ]
                  Transforms = [ "c", "concat(c, '!')", "string" ]
                  Filter = Some """{"type":"in","dimension":"c","values":["v0","v2!"]}""" }
            let index = Rollup.IncrementalIndex(pipelineSpec case)
            let outcomes = case.Rows |> List.map (toInputRow >> index.Add)
            Expect.equal outcomes [ Rollup.RowOutcome.Ingested; Rollup.RowOutcome.ThrownAway ] "v2! kept, v0! dropped"
            Expect.equal (index.Snapshot() |> List.collect RollupTests.rowsOf)
                [ "2020-01-20T00:00:00.000Z", [ "a", Value.String "v1"; "b", Value.Long 2L; "c", Value.String "v2!" ] ] "the kept row"
        }
    ]
