/// Native queries over typed array columns (`auto` ARRAY<LONG>/ARRAY<STRING>): arrays group,
/// filter and scan as whole values, never exploded like multi-value strings.
module FunctionalDruid.Tests.Core.ArrayQueryTests

open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Tests.Core.EngineTestData

/// Typed array rows; None is a null row, None elements are null elements.
let private arrays (rows: 'T option list option list) : ArrayColumnData<'T> =
    let offsets = Array.zeroCreate<int> (rows.Length + 1)
    let values = ResizeArray<'T>()
    let elementNulls = ResizeArray<bool>()
    rows |> List.iteri (fun r row ->
        match row with
        | Some xs ->
            for x in xs do
                values.Add(defaultArg x Unchecked.defaultof<'T>)
                elementNulls.Add x.IsNone
        | None -> ()
        offsets.[r + 1] <- values.Count)
    { Offsets = offsets
      Values = values.ToArray()
      ElementNulls = (if elementNulls.Contains true then Some(elementNulls.ToArray()) else None)
      RowNulls = (if rows |> List.contains None then Some(rows |> List.map Option.isNone |> Array.ofList) else None) }

let private segment =
    let interval = (Time.tryParseInterval "2020-01-01/2020-01-02").Value
    let hour h = interval.Start + int64 h * 3_600_000L
    { Interval = interval
      Times = Array.init 5 hour
      Dimensions =
        [ "arr", ColumnData.LongArrays(arrays [ Some [ Some 1L; Some 2L ]; Some [ Some 1L; Some 2L ]; None; Some []; Some [ Some 1L; None ] ])
          "sarr", ColumnData.StringArrays(arrays [ Some [ Some "a"; Some "b" ]; Some [ Some "b" ]; None; Some []; Some [ Some "a" ] ]) ]
      Metrics = []
      Metadata = "{}" }

let private run (query: string) = runQuery query [ segment ]

/// A groupBy on one array dimension with an ARRAY output type, as native JSON asks for it.
let private groupBy (dimension: string) (outputType: ColumnType) =
    run (sprintf """{"queryType":"groupBy","dataSource":"t","intervals":["2020/2021"],"granularity":"all",
                     "dimensions":[{"type":"default","dimension":"%s","outputName":"v","outputType":"%s"}],
                     "aggregations":[{"type":"count","name":"rows"}]}""" dimension outputType.DruidName)

let private countWhere (filter: string) =
    run (sprintf """{"queryType":"timeseries","dataSource":"t","intervals":["2020/2021"],"granularity":"all",
                     "filter":%s,"aggregations":[{"type":"count","name":"rows"}]}""" filter)

let private counted (n: int) = sprintf """[{"timestamp":"2020-01-01T00:00:00.000Z","result":{"rows":%d}}]""" n

let private groupRow (value: string) (rows: int) =
    sprintf """{"version":"v1","timestamp":"2020-01-01T00:00:00.000Z","event":{"v":%s,"rows":%d}}""" value rows

[<Tests>]
let arrayQueryTests =
    testList "ArrayQuery" [
        test "groupBy groups whole long arrays: null, empty, then element order with null first" {
            let expected = "[" + String.concat "," [ groupRow "null" 1; groupRow "[]" 1; groupRow "[1,null]" 1; groupRow "[1,2]" 2 ] + "]"
            Expect.equal (groupBy "arr" (ColumnType.Array ColumnType.Long)) expected "groups"
        }
        test "groupBy on a string array keeps [b] and [a,b] apart" {
            let expected = "[" + String.concat "," [ groupRow "null" 1; groupRow "[]" 1; groupRow "[\"a\"]" 1; groupRow "[\"a\",\"b\"]" 1; groupRow "[\"b\"]" 1 ] + "]"
            Expect.equal (groupBy "sarr" (ColumnType.Array ColumnType.String)) expected "groups"
        }
        test "null filter matches null rows only, not empty arrays" {
            Expect.equal (countWhere """{"type":"null","column":"arr"}""") (counted 1) "null"
            Expect.equal (countWhere """{"type":"not","field":{"type":"null","column":"arr"}}""") (counted 4) "not null"
        }
        test "equality with an array match value compares whole arrays" {
            Expect.equal (countWhere """{"type":"equality","column":"arr","matchValueType":"ARRAY<LONG>","matchValue":[1,2]}""") (counted 2) "[1,2]"
            Expect.equal (countWhere """{"type":"equality","column":"arr","matchValueType":"ARRAY<LONG>","matchValue":[1]}""") (counted 0) "[1]"
            Expect.equal (countWhere """{"type":"equality","column":"sarr","matchValueType":"ARRAY<STRING>","matchValue":[]}""") (counted 1) "[]"
        }
        test "equality with a scalar matches the one-element array only" {
            Expect.equal (countWhere """{"type":"equality","column":"sarr","matchValueType":"STRING","matchValue":"b"}""") (counted 1) "b"
        }
        test "arrayContainsElement looks inside each array" {
            Expect.equal (countWhere """{"type":"arrayContainsElement","column":"sarr","elementMatchValueType":"STRING","elementMatchValue":"a"}""") (counted 2) "a"
            Expect.equal (countWhere """{"type":"arrayContainsElement","column":"arr","elementMatchValueType":"LONG","elementMatchValue":2}""") (counted 2) "2"
            Expect.equal (countWhere """{"type":"arrayContainsElement","column":"arr","elementMatchValueType":"LONG","elementMatchValue":3}""") (counted 0) "3"
        }
        test "scan returns arrays as JSON arrays" {
            let result =
                run """{"queryType":"scan","dataSource":"t","intervals":["2020/2021"],"columns":["arr"],"resultFormat":"compactedList"}"""
            Expect.stringContains result """"events":[[[1,2]],[[1,2]],[null],[[]],[[1,null]]]""" "rows"
        }
        test "segmentMetadata names array types" {
            let result = run """{"queryType":"segmentMetadata","dataSource":"t","intervals":["2020/2021"]}"""
            Expect.stringContains result """"arr":{"typeSignature":"ARRAY<LONG>","type":"ARRAY<LONG>","hasMultipleValues":false,"hasNulls":true""" "arr"
            Expect.stringContains result """"sarr":{"typeSignature":"ARRAY<STRING>","type":"ARRAY<STRING>","hasMultipleValues":false,"hasNulls":true""" "sarr"
        }
        testProperty "array group keys decode to the array they encode" (fun (longs: int64 list) (texts: string list) (nulls: int) ->
            let elements =
                Array.append (longs |> List.map Value.Long |> Array.ofList)
                             (texts |> List.map (fun s -> if isNull s then Value.Null else Value.String s) |> Array.ofList)
                |> Array.append (Array.create (abs nulls % 3) Value.Null)
            let key = GroupDimensions.ArrayKey.encode elements
            GroupDimensions.ArrayKey.isKey key && GroupDimensions.ArrayKey.decode key = Value.Array elements)
    ]
