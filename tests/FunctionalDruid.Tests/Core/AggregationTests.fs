module FunctionalDruid.Tests.Core.AggregationTests

open System
open System.Collections.Generic
open Expecto
open FunctionalDruid.Core

let private parseSpec (text: string) = Json.run text Aggregation.parse

let private spec (text: string) =
    match parseSpec text with
    | Ok s -> s
    | Error(path, problem) -> failwithf "%s: %s" path problem

/// Rows of (group key, time, fields); group ids are dense in first-seen order of keys.
let private accumulate (acc: Aggregation.IngestAccumulator) (rows: (int * int64 * (string * Value) list) list) =
    let ids = Dictionary<int, int>()
    for key, time, fields in rows do
        let group =
            match ids.TryGetValue key with
            | true, g -> g
            | _ ->
                ids.[key] <- ids.Count
                ids.Count - 1
        let row (column: string) = fields |> List.tryFind (fst >> (=) column) |> Option.map snd |> Option.defaultValue Value.Null
        acc.Add(group, time, row)
    ids

let private orderByKey (ids: Dictionary<int, int>) = ids |> Seq.sortBy (fun kv -> kv.Key) |> Seq.map (fun kv -> kv.Value) |> Array.ofSeq

/// The metric column for the rows, groups in key order.
let private columnOf (s: AggregatorSpec) rows =
    let acc = Aggregation.createAccumulator s
    let ids = accumulate acc rows
    acc.ToColumn(orderByKey ids)

let private pairs (column: ColumnData) =
    match column with
    | ColumnData.Complex(t, values) ->
        let pairType =
            match t with
            | "serializablePairLongLong" -> PairType.Long
            | "serializablePairLongDouble" -> PairType.Double
            | "serializablePairLongFloat" -> PairType.Float
            | _ -> PairType.String
        values |> Array.map (fun b -> (Aggregation.decodePair pairType b).Value)
    | other -> failwithf "not a pair column: %A" other

let private x (v: Value) = [ "x", v ]

/// Three groups: key 1 has numbers (one as a string), key 2 only nulls, key 3 one value.
let private sample =
    [ 1, 10L, x (Value.Long 5L)
      2, 11L, x Value.Null
      1, 12L, x (Value.String "7")
      3, 13L, x (Value.Double 2.5)
      1, 9L, x Value.Null
      2, 14L, []
      1, 12L, x (Value.Double -1.75) ]

[<Tests>]
let specTests =
    testList "Aggregation" [
        test "aggregators print in Druid's JSON shape" {
            let cases =
                [ """{"type":"count","name":"count"}""", """{"type":"count","name":"count"}"""
                  """{"type":"longSum","name":"added","fieldName":"added"}""", """{"type":"longSum","name":"added","fieldName":"added","expression":null}"""
                  """{"type":"doubleMax","name":"m","expression":"x * 2"}""", """{"type":"doubleMax","name":"m","fieldName":null,"expression":"x * 2"}"""
                  """{"type":"floatMin","name":"f","fieldName":"v"}""", """{"type":"floatMin","name":"f","fieldName":"v","expression":null}"""
                  """{"type":"longFirst","name":"lf","fieldName":"v"}""", """{"type":"longFirst","name":"lf","fieldName":"v","timeColumn":"__time"}"""
                  """{"type":"stringLast","name":"sl","fieldName":"v","timeColumn":"t"}""", """{"type":"stringLast","name":"sl","fieldName":"v","timeColumn":"t","maxStringBytes":1024}"""
                  """{"type":"hyperUnique","name":"u","fieldName":"user","round":true}""", """{"type":"hyperUnique","name":"u","fieldName":"user","isInputHyperUnique":false,"round":true}"""
                  """{"type":"cardinality","name":"c","fields":["a",{"type":"default","dimension":"b","outputName":"bb"}],"byRow":true}""",
                  """{"type":"cardinality","name":"c","fields":[{"type":"default","dimension":"a","outputName":"a","outputType":"STRING"},{"type":"default","dimension":"b","outputName":"bb","outputType":"STRING"}],"byRow":true,"round":false}"""
                  """{"type":"filtered","filter":{"type": "selector", "dimension":"d","value":"é"},"aggregator":{"type":"count","name":"c"}}""",
                  """{"type":"filtered","aggregator":{"type":"count","name":"c"},"filter":{"type":"selector","dimension":"d","value":"é"},"name":"c"}""" ]
            for input, expected in cases do
                let s = spec input
                Expect.equal (Aggregation.toJson s) expected input
                Expect.equal (Aggregation.toJson (spec (Aggregation.toJson s))) expected "printing is stable"
        }
        test "invalid aggregators are rejected with Druid's messages" {
            let cases =
                [ """{"type":"longSum","fieldName":"x"}""", ("", "Must have a valid, non-null aggregator name")
                  """{"type":"longSum","name":"a"}""", ("", "Must have a valid, non-null fieldName or expression")
                  """{"type":"doubleSum","name":"a","fieldName":"x","expression":"y"}""", ("", "Must have a valid, non-null fieldName or expression")
                  """{"type":"longFirst","name":"a"}""", ("", "Must have a valid, non-null fieldName")
                  """{"type":"stringFirst","name":"a","fieldName":"x","maxStringBytes":-1}""", ("", "maxStringBytes must be greater than 0")
                  """{"type":"hyperUnique","name":"a"}""", ("", "Must have a valid, non-null fieldName")
                  """{"type":"count"}""", ("", "Must have a valid, non-null aggregator name")
                  """{"type":"xyz","name":"a"}""", ("type", "Unknown aggregator type [xyz]")
                  """{"name":"a","fieldName":"x"}""", ("", "Could not resolve aggregator: missing type id property 'type'")
                  """{"type":"javascript","name":"a","fieldNames":["x"],"fnAggregate":"","fnCombine":"","fnReset":""}""", ("", "JavaScript is disabled")
                  """{"type":"cardinality","name":"a"}""", ("", "Must provide 'fieldNames' if 'fields' is null.")
                  """{"type":"cardinality","name":"a","fields":["x"],"fieldNames":["x"]}""", ("", "Cannot specify both 'fieldNames' and 'fields.")
                  """{"type":"filtered","aggregator":{"type":"count","name":"c"}}""", ("filter", "is required but missing")
                  """{"type":"filtered","filter":{"type":"true"},"aggregator":{"type":"longSum","name":"s"}}""", ("aggregator", "Must have a valid, non-null fieldName or expression")
                  """["count"]""", ("", "expected an object but found an array") ]
            for input, expected in cases do
                Expect.equal (parseSpec input) (Error expected) input
            let inList = Json.run """{"metricsSpec":[{"type":"count","name":"c"},{"type":"nope","name":"n"}]}""" (fun n -> Aggregation.parseList (Json.field n "metricsSpec"))
            Expect.equal inList (Error("metricsSpec[1].type", "Unknown aggregator type [nope]")) "path inside a list"
        }
        test "storage types and combining factories" {
            let cases =
                [ """{"type":"count","name":"c"}""", ColumnType.Long, """{"type":"longSum","name":"c","fieldName":"c","expression":null}"""
                  """{"type":"doubleSum","name":"d","expression":"a+b"}""", ColumnType.Double, """{"type":"doubleSum","name":"d","fieldName":"d","expression":null}"""
                  """{"type":"floatMax","name":"f","fieldName":"v"}""", ColumnType.Float, """{"type":"floatMax","name":"f","fieldName":"f","expression":null}"""
                  """{"type":"longLast","name":"l","fieldName":"v"}""", ColumnType.Complex "serializablePairLongLong", """{"type":"longLast","name":"l","fieldName":"l","timeColumn":"__time"}"""
                  """{"type":"doubleFirst","name":"l","fieldName":"v"}""", ColumnType.Complex "serializablePairLongDouble", """{"type":"doubleFirst","name":"l","fieldName":"l","timeColumn":"__time"}"""
                  """{"type":"floatFirst","name":"l","fieldName":"v"}""", ColumnType.Complex "serializablePairLongFloat", """{"type":"floatFirst","name":"l","fieldName":"l","timeColumn":"__time"}"""
                  """{"type":"stringFirst","name":"s","fieldName":"v","maxStringBytes":10}""", ColumnType.Complex "serializablePairLongString", """{"type":"stringFirst","name":"s","fieldName":"s","timeColumn":"__time","maxStringBytes":10}"""
                  """{"type":"hyperUnique","name":"u","fieldName":"user"}""", ColumnType.Complex "hyperUnique", """{"type":"hyperUnique","name":"u","fieldName":"u","isInputHyperUnique":false,"round":false}"""
                  """{"type":"hyperUnique","name":"u","fieldName":"user","isInputHyperUnique":true}""", ColumnType.Complex "preComputedHyperUnique", """{"type":"hyperUnique","name":"u","fieldName":"u","isInputHyperUnique":false,"round":false}"""
                  """{"type":"cardinality","name":"c","fields":["a"],"round":true}""", ColumnType.Complex "hyperUnique", """{"type":"hyperUnique","name":"c","fieldName":"c","isInputHyperUnique":false,"round":true}"""
                  """{"type":"filtered","name":"ff","filter":{"type":"true"},"aggregator":{"type":"longSum","name":"s","fieldName":"x"}}""", ColumnType.Long, """{"type":"longSum","name":"ff","fieldName":"ff","expression":null}""" ]
            for input, storage, combined in cases do
                let s = spec input
                Expect.equal (Aggregation.storageType s) storage input
                Expect.equal (Aggregation.toJson (Aggregation.combining s)) combined input
        }
        test "input fields" {
            Expect.equal (Aggregation.inputFields (spec """{"type":"longLast","name":"l","fieldName":"v","timeColumn":"t"}""")) [ "t"; "v" ] "custom time column"
            Expect.equal (Aggregation.inputFields (spec """{"type":"longLast","name":"l","fieldName":"v"}""")) [ "v" ] "row time"
            Expect.equal (Aggregation.inputFields (spec """{"type":"cardinality","name":"c","fieldNames":["a","b"]}""")) [ "a"; "b" ] "cardinality"
            Expect.equal (Aggregation.inputFields (spec """{"type":"count","name":"c"}""")) [] "count"
        }
        test "numeric coercion follows Druid's ingestion" {
            let cases =
                [ Value.String " 1,234 ", Aggregation.Whole 1234L; Value.String "+5", Aggregation.Whole 5L
                  Value.String "2.5e1", Aggregation.Fractional 25.0; Value.String "abc", Aggregation.Unparseable
                  Value.String "", Aggregation.Unparseable; Value.Null, Aggregation.NoNumber
                  Value.Array [| Value.String "3" |], Aggregation.Whole 3L; Value.Array [| Value.Long 1L; Value.Long 2L |], Aggregation.Unparseable ]
            for v, expected in cases do Expect.equal (Aggregation.readNumber v) expected (sprintf "%A" v)
            Expect.equal (Aggregation.numberProblem "added" (Value.String "abc")) (Some "Unable to parse value[abc] for field[added]") "message"
            Expect.equal (Aggregation.numberProblem "added" (Value.String "12")) None "fine"
            Expect.equal (Aggregation.javaLong -2.9) -2L "truncation"
            Expect.equal (Aggregation.javaLong 1e30) Int64.MaxValue "saturation"
        }
    ]

[<Tests>]
let accumulatorTests =
    testList "Aggregation" [
        test "count, sums, mins and maxes of small groups with nulls" {
            let cases =
                [ """{"type":"count","name":"c"}""", ColumnData.Longs([| 4L; 2L; 1L |], None)
                  """{"type":"longSum","name":"s","fieldName":"x"}""", ColumnData.Longs([| 11L; 0L; 2L |], Some [| false; true; false |])
                  """{"type":"longMin","name":"s","fieldName":"x"}""", ColumnData.Longs([| -1L; 0L; 2L |], Some [| false; true; false |])
                  """{"type":"longMax","name":"s","fieldName":"x"}""", ColumnData.Longs([| 7L; 0L; 2L |], Some [| false; true; false |])
                  """{"type":"doubleSum","name":"s","fieldName":"x"}""", ColumnData.Doubles([| 10.25; 0.0; 2.5 |], Some [| false; true; false |])
                  """{"type":"doubleMin","name":"s","fieldName":"x"}""", ColumnData.Doubles([| -1.75; 0.0; 2.5 |], Some [| false; true; false |])
                  """{"type":"doubleMax","name":"s","fieldName":"x"}""", ColumnData.Doubles([| 7.0; 0.0; 2.5 |], Some [| false; true; false |])
                  """{"type":"floatSum","name":"s","fieldName":"x"}""", ColumnData.Floats([| 10.25f; 0.0f; 2.5f |], Some [| false; true; false |])
                  """{"type":"floatMax","name":"s","fieldName":"x"}""", ColumnData.Floats([| 7.0f; 0.0f; 2.5f |], Some [| false; true; false |]) ]
            for input, expected in cases do Expect.equal (columnOf (spec input) sample) expected input
            Expect.equal (columnOf (spec """{"type":"longSum","name":"s","fieldName":"x"}""") [ 1, 0L, x (Value.Long 1L) ]) (ColumnData.Longs([| 1L |], None)) "no nulls: no mask"
        }
        test "first and last keep earliest and latest rows, nulls included, ties by arrival" {
            let check input expected =
                Expect.equal (pairs (columnOf (spec input) sample)) expected input
            check """{"type":"longFirst","name":"f","fieldName":"x"}""" [| 9L, Value.Null; 11L, Value.Null; 13L, Value.Long 2L |]
            check """{"type":"longLast","name":"f","fieldName":"x"}""" [| 12L, Value.Long -1L; 14L, Value.Null; 13L, Value.Long 2L |]
            check """{"type":"doubleLast","name":"f","fieldName":"x"}""" [| 12L, Value.Double -1.75; 14L, Value.Null; 13L, Value.Double 2.5 |]
            check """{"type":"floatFirst","name":"f","fieldName":"x"}""" [| 9L, Value.Null; 11L, Value.Null; 13L, Value.Double 2.5 |]
            check """{"type":"stringLast","name":"f","fieldName":"x"}""" [| 12L, Value.String "-1.75"; 14L, Value.Null; 13L, Value.String "2.5" |]
            // ties at time 12 for key 1: first keeps the earlier row "7"
            let noEarly = sample |> List.filter (fun (_, t, _) -> t <> 9L && t <> 10L)
            Expect.equal (pairs (columnOf (spec """{"type":"stringFirst","name":"f","fieldName":"x"}""") noEarly)).[0] (12L, Value.String "7") "first on a tie"
            let timed = [ 1, 0L, [ "x", Value.String "late"; "t", Value.Long 50L ]; 1, 100L, [ "x", Value.String "early"; "t", Value.String "20" ]; 1, 5L, [ "x", Value.String "untimed" ] ]
            Expect.equal (pairs (columnOf (spec """{"type":"stringFirst","name":"f","fieldName":"x","timeColumn":"t"}""") timed)) [| 20L, Value.String "early" |] "time column; rows without time skipped"
        }
        test "stringFirst truncates to maxStringBytes without splitting characters" {
            let rows = [ 1, 0L, x (Value.String "héllo wörld") ]
            Expect.equal (pairs (columnOf (spec """{"type":"stringFirst","name":"f","fieldName":"x","maxStringBytes":3}""") rows)) [| 0L, Value.String "hé" |] "3 bytes"
            Expect.equal (pairs (columnOf (spec """{"type":"stringFirst","name":"f","fieldName":"x","maxStringBytes":2}""") rows)) [| 0L, Value.String "h" |] "2 bytes"
            Expect.equal (Aggregation.truncateUtf8 4 "a😀b") "a" "surrogate pair kept whole"
            Expect.equal (Aggregation.truncateUtf8 5 "a😀b") "a😀" "pair fits"
        }
        test "hyperUnique sketches each string value; nulls add nothing" {
            let rows =
                [ 1, 0L, [ "u", Value.String "a" ]; 1, 0L, [ "u", Value.Array [| Value.String "b"; Value.Null; Value.String "c" |] ]
                  1, 0L, [ "u", Value.String "a" ]; 2, 0L, [ "u", Value.Null ]; 3, 0L, [ "u", Value.Long 7L ] ]
            let column = columnOf (spec """{"type":"hyperUnique","name":"u","fieldName":"u"}""") rows
            match column with
            | ColumnData.Complex("hyperUnique", values) ->
                Expect.equal (values |> Array.map (Aggregation.decodeComplex "hyperUnique")) [| Value.Double 3.0021994137521975; Value.Double 0.0; Value.Double(2048.0 * Math.Log(2048.0 / 2047.0)) |] "estimates"
                Expect.equal values.[1] (Hll.toBytes Hll.empty) "empty group stores an empty sketch"
                let expected = Hll.empty |> Hll.addString "a" |> Hll.addString "b" |> Hll.addString "c"
                Expect.equal (Hll.ofBytes values.[0]) expected "same sketch as adding the strings"
                Expect.equal (Hll.ofBytes values.[2]) (Hll.empty |> Hll.addString "7") "numbers as their strings"
            | other -> failtestf "unexpected %A" other
        }
        test "pre-computed sketches are folded" {
            let sketch = Hll.empty |> Hll.addString "a" |> Hll.addString "b"
            let rows = [ 1, 0L, [ "u", Value.String(Convert.ToBase64String(Hll.toBytes sketch)) ]; 1, 0L, [ "u", Value.String "not base64!" ] ]
            match columnOf (spec """{"type":"hyperUnique","name":"u","fieldName":"u","isInputHyperUnique":true}""") rows with
            | ColumnData.Complex("preComputedHyperUnique", [| b |]) -> Expect.equal (Hll.ofBytes b) sketch "folded"
            | other -> failtestf "unexpected %A" other
        }
        test "cardinality by value and by row" {
            let rows = [ 1, 0L, [ "a", Value.String "x"; "b", Value.String "y" ]; 1, 0L, [ "a", Value.String "y"; "b", Value.String "x" ]; 1, 0L, [ "a", Value.String "x"; "b", Value.String "y" ] ]
            let estimateOf text =
                match columnOf (spec text) rows with
                | ColumnData.Complex(t, [| b |]) -> Aggregation.decodeComplex t b
                | other -> failtestf "unexpected %A" other
            Expect.equal (estimateOf """{"type":"cardinality","name":"c","fields":["a","b"]}""") (Value.Double 2.000977198748901) "values x, y"
            Expect.equal (estimateOf """{"type":"cardinality","name":"c","fields":["a","b"],"byRow":true}""") (Value.Double 2.000977198748901) "rows (x,y), (y,x)"
            let byValue = Hll.Collector()
            byValue.Add(Hll.hashUnencodedChars "x")
            match columnOf (spec """{"type":"cardinality","name":"c","fields":["a"]}""") [ 1, 0L, [ "a", Value.String "x" ] ] with
            | ColumnData.Complex(_, [| b |]) -> Expect.equal (Hll.ofBytes b) (Hll.ofCollector byValue) "UTF-16 hashing"
            | other -> failtestf "unexpected %A" other
        }
        test "finalize and decodeComplex" {
            let hu = spec """{"type":"hyperUnique","name":"u","fieldName":"u","round":true}"""
            Expect.equal (Aggregation.finalize hu (Value.Double 3.0021994137521975)) (Value.Long 3L) "round"
            Expect.equal (Aggregation.finalize hu Value.Null) (Value.Long 0L) "missing sketch"
            Expect.equal (Aggregation.finalize (spec """{"type":"cardinality","name":"c","fields":["a"]}""") (Value.Double 2.5)) (Value.Double 2.5) "no round"
            Expect.equal (Aggregation.decodeComplex "serializablePairLongLong" (Aggregation.encodePair PairType.Long 5L (Value.Long 9L))) (Value.Long 9L) "pair"
            Expect.equal (Aggregation.decodeComplex "serializablePairLongString" (Aggregation.encodePair PairType.String 5L Value.Null)) Value.Null "null pair"
            Expect.equal (Aggregation.encodePair PairType.Long 1L (Value.Long 2L)) [| 0uy; 0uy; 0uy; 0uy; 0uy; 0uy; 0uy; 1uy; 0uy; 0uy; 0uy; 0uy; 0uy; 0uy; 0uy; 0uy; 2uy |] "layout"
            Expect.equal (Aggregation.decodeComplex "hyperUnique" [| 9uy |]) Value.Null "malformed sketch"
            Expect.equal (Aggregation.decodeComplex "somethingElse" [| 1uy |]) Value.Null "unknown type"
        }
        test "expression fields and filtered aggregators, through stand-ins and through the real modules" {
            let real text =
                let acc = Aggregation.createAccumulator (spec text)
                let ids = accumulate acc sample
                acc.ToColumn(orderByKey ids)
            let tenTimes : Aggregation.RowFunctions =
                { CompileExpression = fun _ -> fun _ row -> match row "x" with Value.Long l -> Value.Long(l * 10L) | _ -> Value.Null
                  CompileFilter = fun _ -> fun _ row -> row "x" <> Value.Null }
            let standIn text =
                let acc = Aggregation.createAccumulatorWith tenTimes (spec text)
                let ids = accumulate acc sample
                acc.ToColumn(orderByKey ids)
            // group 1: 5*10 + "7"*10 + (-1.75*10 = -17.5, truncated to a long) = 103; group 3: 2.5*10 = 25
            Expect.equal (real """{"type":"longSum","name":"s","expression":"x*10"}""") (ColumnData.Longs([| 103L; 0L; 25L |], Some [| false; true; false |])) "real expression"
            Expect.equal (real """{"type":"filtered","filter":{"type":"not","field":{"type":"null","column":"x"}},"aggregator":{"type":"count","name":"c"}}""")
                         (standIn """{"type":"filtered","filter":{"type":"true"},"aggregator":{"type":"count","name":"c"}}""") "real filter"
            Expect.throwsT<FunctionalDruid.Core.Json.JsonError> (fun () -> Aggregation.createAccumulator (spec """{"type":"longSum","name":"s","expression":"x +"}""") |> ignore) "bad expression"
            let fns : Aggregation.RowFunctions =
                { CompileExpression = fun _ -> fun time row -> match row "x" with Value.Long l -> Value.Long(l * 10L + time) | _ -> Value.Null
                  CompileFilter = fun _ -> fun _ row -> row "x" <> Value.Null }
            let run text =
                let acc = Aggregation.createAccumulatorWith fns (spec text)
                let ids = accumulate acc sample
                acc.ToColumn(orderByKey ids)
            Expect.equal (run """{"type":"longSum","name":"s","expression":"x*10+__time"}""") (ColumnData.Longs([| 60L; 0L; 0L |], Some [| false; true; true |])) "expression"
            Expect.equal (run """{"type":"filtered","filter":{"type":"not"},"aggregator":{"type":"count","name":"c"}}""") (ColumnData.Longs([| 3L; 0L; 1L |], None)) "filtered count keeps every group"
        }
        test "group ids must be existing or next" {
            let acc = Aggregation.createAccumulator (spec """{"type":"count","name":"c"}""")
            Expect.throwsT<ArgumentOutOfRangeException> (fun () -> acc.Add(1, 0L, fun _ -> Value.Null)) "gap"
            acc.Add(0, 0L, fun _ -> Value.Null)
            let other = Aggregation.createAccumulator (spec """{"type":"longSum","name":"s","fieldName":"x"}""")
            other.Add(0, 0L, fun _ -> Value.Long 1L)
            Expect.throwsT<ArgumentException> (fun () -> acc.Merge(0, other, 0)) "different aggregators"
            Expect.equal acc.Count 1 "count"
            Expect.isGreaterThan acc.BytesPerGroup 0 "bytes"
        }
    ]

// ---------------------------------------------------------------------------------------
// Properties against a naive oracle
// ---------------------------------------------------------------------------------------

/// FsCheck rows: group key 0-3, a time with many ties, and a value that is null, a long, a
/// quarter-valued double (exact in float32 sums too) or a numeric string.
let private rowsOf (raw: (byte * int16 * int16 option * byte) list) =
    raw
    |> List.map (fun (key, time, value, kind) ->
        let v =
            match value with
            | None -> Value.Null
            | Some i ->
                match kind % 3uy with
                | 0uy -> Value.Long(int64 i)
                | 1uy -> Value.Double(float i / 4.0)
                | _ -> Value.String(string i)
        int key % 4, int64 (time % 8s), x v)

let private numericSpecs =
    [ for t in [ "long"; "double"; "float" ] do
        for op in [ "Sum"; "Min"; "Max" ] -> sprintf """{"type":"%s%s","name":"m","fieldName":"x"}""" t op ]

let private pairSpecs =
    [ for t in [ "long"; "double"; "float"; "string" ] do
        for fl in [ "First"; "Last" ] -> sprintf """{"type":"%s%s","name":"m","fieldName":"x"}""" t fl ]

let private allSpecs =
    [ """{"type":"count","name":"c"}"""; """{"type":"hyperUnique","name":"u","fieldName":"x"}"""
      """{"type":"cardinality","name":"u","fields":["x"],"byRow":true}""" ]
    @ numericSpecs @ pairSpecs

/// What a spec should produce for a group's values (in arrival order), by brute force.
let private oracle (s: AggregatorSpec) (rows: (int64 * Value) list) : obj =
    let numbers = rows |> List.map snd |> List.choose (fun v ->
        match Aggregation.readNumber v with
        | Aggregation.Whole l -> Some(Choice1Of2 l)
        | Aggregation.Fractional d -> Some(Choice2Of2 d)
        | _ -> None)
    let asLong = function Choice1Of2 l -> l | Choice2Of2 d -> Aggregation.javaLong d
    let asDouble = function Choice1Of2 (l: int64) -> float l | Choice2Of2 d -> d
    match s with
    | Count _ -> box (int64 rows.Length)
    | Numeric a when numbers.IsEmpty -> box None
    | Numeric a ->
        match a.Type with
        | NumericType.Long ->
            let xs = numbers |> List.map asLong
            box (Some(match a.Op with NumericOp.Sum -> List.sum xs | NumericOp.Min -> List.min xs | NumericOp.Max -> List.max xs))
        | NumericType.Double ->
            let xs = numbers |> List.map asDouble
            box (Some(match a.Op with NumericOp.Sum -> List.sum xs | NumericOp.Min -> List.min xs | NumericOp.Max -> List.max xs))
        | NumericType.Float ->
            let xs = numbers |> List.map (asDouble >> float32)
            box (Some(match a.Op with NumericOp.Sum -> List.sum xs | NumericOp.Min -> List.min xs | NumericOp.Max -> List.max xs))
    | FirstLast a ->
        let indexed = rows |> List.indexed
        let _, (t, v) =
            if a.IsLast then indexed |> List.maxBy (fun (i, (t, _)) -> (t, i))
            else indexed |> List.minBy (fun (i, (t, _)) -> (t, i))
        let value =
            match a.Type, Aggregation.readNumber v with
            | PairType.String, _ -> (match Value.toStringOrNull v with null -> Value.Null | s -> Value.String s)
            | PairType.Long, Aggregation.Whole l -> Value.Long l
            | PairType.Long, Aggregation.Fractional d -> Value.Long(Aggregation.javaLong d)
            | PairType.Double, n | PairType.Float, n ->
                match n with
                | Aggregation.Whole l -> Value.Double(float l)
                | Aggregation.Fractional d -> Value.Double d
                | _ -> Value.Null
            | _ -> Value.Null
        box (t, value)
    | _ -> failwith "no oracle"

/// The cells of a metric column in the oracle's terms.
let private cells (s: AggregatorSpec) (column: ColumnData) : obj[] =
    let masked (values: 'T[]) (nulls: bool[] option) =
        values |> Array.mapi (fun i v -> box (if (match nulls with Some n -> n.[i] | None -> false) then None else Some v))
    match column with
    | ColumnData.Longs(v, None) when s.IsCount -> v |> Array.map box
    | ColumnData.Longs(v, nulls) -> masked v nulls
    | ColumnData.Doubles(v, nulls) -> masked v nulls
    | ColumnData.Floats(v, nulls) -> masked v nulls
    | ColumnData.Complex _ -> pairs column |> Array.map box
    | other -> failwithf "unexpected %A" other

[<Tests>]
let propertyTests =
    testList "Aggregation" [
        testProperty "every numeric and first/last accumulator equals a List.groupBy oracle" <| fun raw ->
            let rows = rowsOf raw
            let groups = rows |> List.groupBy (fun (k, _, _) -> k) |> List.sortBy fst
            ("""{"type":"count","name":"c"}""" :: numericSpecs @ pairSpecs)
            |> List.forall (fun text ->
                let s = spec text
                let actual = if rows.IsEmpty then [||] else cells s (columnOf s rows)
                let expected =
                    groups
                    |> List.map (fun (_, rs) -> oracle s (rs |> List.map (fun (_, t, fields) -> t, snd fields.Head)))
                    |> Array.ofList
                actual = expected)
        testProperty "merging accumulators of a split equals accumulating all rows" <| fun raw (cut: byte) ->
            let rows = rowsOf raw
            let k = if rows.IsEmpty then 0 else int cut % (rows.Length + 1)
            allSpecs |> List.forall (fun text ->
                let s = spec text
                let whole = Aggregation.createAccumulator s
                let wholeIds = accumulate whole rows
                let left = Aggregation.createAccumulator s
                let leftIds = accumulate left (List.take k rows)
                let right = Aggregation.createAccumulator s
                let rightIds = accumulate right (List.skip k rows)
                for kv in rightIds do
                    match leftIds.TryGetValue kv.Key with
                    | true, g -> left.Merge(g, right, kv.Value)
                    | _ ->
                        leftIds.[kv.Key] <- left.Count
                        left.Merge(left.Count, right, kv.Value)
                left.ToColumn(orderByKey leftIds) = whole.ToColumn(orderByKey wholeIds))
        testProperty "accumulatorOfColumn then ToColumn gives the column back" <| fun raw ->
            let rows = rowsOf raw
            allSpecs |> List.forall (fun text ->
                let s = spec text
                let column = columnOf s rows
                let recovered = Aggregation.accumulatorOfColumn s column
                let n = recovered.Count
                n = (rows |> List.distinctBy (fun (k, _, _) -> k) |> List.length)
                && recovered.ToColumn(Array.init n id) = column)
        testProperty "spill merge through stored columns equals accumulating all rows" <| fun raw (cut: byte) ->
            let rows = rowsOf raw
            let k = if rows.IsEmpty then 0 else int cut % (rows.Length + 1)
            allSpecs |> List.forall (fun text ->
                let s = spec text
                let whole = columnOf s rows
                // each spill persisted with groups in key order, then merged by key
                let spill part =
                    let acc = Aggregation.createAccumulator s
                    let ids = accumulate acc part
                    let keys = ids.Keys |> Seq.sort |> Array.ofSeq
                    keys, Aggregation.accumulatorOfColumn s (acc.ToColumn(orderByKey ids))
                let leftKeys, left = spill (List.take k rows)
                let rightKeys, right = spill (List.skip k rows)
                let merged = Aggregation.accumulatorOfColumn s (left.ToColumn(Array.init left.Count id))
                let ids = Dictionary<int, int>()
                leftKeys |> Array.iteri (fun i key -> ids.[key] <- i)
                rightKeys |> Array.iteri (fun i key ->
                    match ids.TryGetValue key with
                    | true, g -> merged.Merge(g, right, i)
                    | _ ->
                        ids.[key] <- merged.Count
                        merged.Merge(merged.Count, right, i))
                merged.ToColumn(orderByKey ids) = whole)
    ]
