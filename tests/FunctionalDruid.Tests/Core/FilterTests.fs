module FunctionalDruid.Tests.Core.FilterTests

open System
open System.Globalization
open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Core.Filter
open FunctionalDruid.Core.Extraction
open FunctionalDruid.Core.Ordering

let private row (pairs: (string * Value) list) : string -> Value =
    let m = Map.ofList pairs
    fun c -> defaultArg (m.TryFind c) Value.Null

let private parseText (text: string) = Json.run text Filter.parse

let private parsed (text: string) =
    match parseText text with
    | Ok f -> f
    | Error(path, problem) -> failtestf "%s did not parse: %s: %s" text path problem

let private expr text = match Expr.parse text with Ok e -> e | Error e -> failtest e

let private iso s = (Time.tryParseInstant s).Value

let private rowA =
    row [ "dim", Value.String "apple"
          "num", Value.Long 10L
          "dbl", Value.Double 2.5
          "numText", Value.String "10"
          "mv", Value.Array [| Value.String "x"; Value.String "y" |]
          "other", Value.String "apple"
          "s", Value.String "Hello World"
          "__time", Value.Long(iso "2014-10-03T12:00:00Z") ]

let private rowEmpty =
    row [ "dim", Value.String ""
          "mv", Value.Array [||]
          "num", Value.Long -3L
          "__time", Value.Long(iso "2014-10-07T00:00:00Z") ]

/// A row where every column is missing.
let private rowNull = row []

// ---- an independent oracle for the property test -----------------------------------------

let private elementsOf (v: Value) : Value list =
    match v with
    | Value.Array [||] -> [ Value.Null ]
    | Value.Array xs -> List.ofArray xs
    | v -> [ v ]

let private anyOf (xs: bool option list) =
    if List.contains (Some true) xs then Some true
    elif List.contains None xs then None
    else Some false

let private textOf (v: Value) =
    match v with
    | Value.String s -> s
    | Value.Long l -> l.ToString(CultureInfo.InvariantCulture)
    | _ -> null

let private number (s: string) =
    match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
    | true, d -> Some d
    | _ -> None

let private oracleCompare (ordering: StringOrdering) (a: string) (b: string) =
    match ordering with
    | StringOrdering.Numeric ->
        match number a, number b with
        | Some x, Some y -> compare x y
        | None, Some _ -> -1
        | Some _, None -> 1
        | None, None -> String.CompareOrdinal(a, b)
    | _ -> String.CompareOrdinal(a, b)

let rec private oracle (r: string -> Value) (f: Filter) : bool option =
    match f with
    | Filter.Selector(dim, None) -> anyOf [ for e in elementsOf (r dim) -> Some(e = Value.Null) ]
    | Filter.Selector(dim, Some value) ->
        anyOf [ for e in elementsOf (r dim) ->
                    match e with
                    | Value.Null -> None
                    | Value.Long l -> Some(number value = Some(float l))
                    | e -> Some(textOf e = value) ]
    | Filter.In(dim, values) ->
        anyOf [ for e in elementsOf (r dim) ->
                    match e with
                    | Value.Null -> if List.contains None values then Some true else None
                    | Value.Long l -> Some(values |> List.exists (fun v -> v.IsSome && number v.Value = Some(float l)))
                    | e -> Some(List.contains (Some(textOf e)) values) ]
    | Filter.Bound b ->
        anyOf [ for e in elementsOf (r b.Dimension) ->
                    match e with
                    | Value.Null -> if b.Lower.IsNone then Some true else None
                    | e ->
                        let x = textOf e
                        let lowerOk = match b.Lower with None -> true | Some l -> (let c = oracleCompare b.Ordering x l in if b.LowerStrict then c > 0 else c >= 0)
                        let upperOk = match b.Upper with None -> true | Some u -> (let c = oracleCompare b.Ordering u x in if b.UpperStrict then c > 0 else c >= 0)
                        Some(lowerOk && upperOk) ]
    | Filter.And fs ->
        let rs = fs |> List.map (oracle r)
        if List.contains (Some false) rs then Some false elif List.contains None rs then None else Some true
    | Filter.Or fs -> anyOf (fs |> List.map (oracle r))
    | Filter.Not inner -> oracle r inner |> Option.map not
    | _ -> failwith "not generated"

let private pool = [ ""; "a"; "b"; "10"; "9"; "-1" ]
let private columns = [ "c0"; "c1"; "c2"; "c3" ]

let private genScalar =
    Gen.oneof [ Gen.constant Value.Null
                Gen.elements pool |> Gen.map Value.String
                Gen.elements [ -1L; 0L; 9L; 10L ] |> Gen.map Value.Long ]

let private genCell =
    let genMulti =
        Gen.elements [ 0; 1; 2; 3 ]
        |> Gen.bind (fun n -> Gen.arrayOfLength n (Gen.oneof [ Gen.constant Value.Null; Gen.elements pool |> Gen.map Value.String ]))
        |> Gen.map Value.Array
    Gen.frequency [ 3, genScalar; 1, genMulti ]

let private genRow = Gen.listOfLength 3 genCell |> Gen.map (fun cells -> List.zip [ "c0"; "c1"; "c2" ] cells)

let private genValue = Gen.frequency [ 5, Gen.elements pool |> Gen.map Some; 1, Gen.constant None ]

let private genLeaf =
    let selector = Gen.map2 (fun d v -> Filter.Selector(d, v)) (Gen.elements columns) genValue
    let inFilter = Gen.map2 (fun d vs -> Filter.In(d, vs)) (Gen.elements columns) (Gen.elements [ 0; 1; 2; 3 ] |> Gen.bind (fun n -> Gen.listOfLength n genValue))
    let bound =
        gen {
            let! d = Gen.elements columns
            let! lower = Gen.elements (None :: (pool |> List.map Some))
            let! upper = Gen.elements ((if lower.IsNone then [] else [ None ]) @ (pool |> List.map Some))
            let! lowerStrict = Gen.elements [ true; false ]
            let! upperStrict = Gen.elements [ true; false ]
            let! ordering = Gen.elements [ StringOrdering.Lexicographic; StringOrdering.Numeric ]
            return Filter.Bound { Dimension = d; Lower = lower; Upper = upper; LowerStrict = lowerStrict; UpperStrict = upperStrict; Ordering = ordering }
        }
    Gen.oneof [ selector; inFilter; bound ]

let rec private genFilter (depth: int) : Gen<Filter> =
    if depth <= 0 then genLeaf
    else
        let sub = genFilter (depth - 1)
        let fields = Gen.elements [ 1; 2; 3 ] |> Gen.bind (fun n -> Gen.listOfLength n sub)
        Gen.frequency [ 3, genLeaf
                        1, fields |> Gen.map Filter.And
                        1, fields |> Gen.map Filter.Or
                        1, sub |> Gen.map Filter.Not ]

let private arbCase = Arb.fromGen (Gen.zip genRow (genFilter 3))

// ---- tests ------------------------------------------------------------------------------

[<Tests>]
let tests =
    testList "Filter" [
        test "every filter type parses into its model" {
            let cases =
                [ """{"type":"selector","dimension":"d","value":"x"}""", Filter.Selector("d", Some "x")
                  """{"type":"selector","dimension":"d","value":null}""", Filter.Selector("d", None)
                  """{"type":"selector","dimension":"d","value":5}""", Filter.Selector("d", Some "5")
                  """{"type":"equals","column":"c","matchValueType":"LONG","matchValue":12}""", Filter.Equality("c", "LONG", Value.Long 12L)
                  """{"type":"equals","column":"c","matchValueType":"array<string>","matchValue":["a","b"]}""",
                  Filter.Equality("c", "ARRAY<STRING>", Value.Array [| Value.String "a"; Value.String "b" |])
                  """{"type":"in","dimension":"d","values":["a",null,"b"]}""", Filter.In("d", [ Some "a"; None; Some "b" ])
                  """{"type":"bound","dimension":"age","lower":"21","upper":"31","upperStrict":true,"ordering":"numeric"}""",
                  Filter.Bound { Dimension = "age"; Lower = Some "21"; Upper = Some "31"; LowerStrict = false; UpperStrict = true; Ordering = StringOrdering.Numeric }
                  """{"type":"bound","dimension":"n","upper":"z","ordering":{"type":"strlen"}}""",
                  Filter.Bound { Dimension = "n"; Lower = None; Upper = Some "z"; LowerStrict = false; UpperStrict = false; Ordering = StringOrdering.Strlen }
                  """{"type":"bound","dimension":"n","lower":"a","alphaNumeric":true}""",
                  Filter.Bound { Dimension = "n"; Lower = Some "a"; Upper = None; LowerStrict = false; UpperStrict = false; Ordering = StringOrdering.Alphanumeric }
                  """{"type":"range","column":"age","matchValueType":"DOUBLE","lower":"21","lowerOpen":true}""",
                  Filter.Range { Column = "age"; MatchValueType = "DOUBLE"; Lower = Value.Double 21.0; Upper = Value.Null; LowerOpen = true; UpperOpen = false }
                  """{"type":"null","column":"c"}""", Filter.Null "c"
                  """{"type":"like","dimension":"d","pattern":"D%","escape":"\\"}""", Filter.Like("d", "D%", Some "\\")
                  """{"type":"regex","dimension":"d","pattern":"^50.*"}""", Filter.Regex("d", "^50.*")
                  """{"type":"search","dimension":"d","query":{"type":"insensitive_contains","value":"foo"}}""", Filter.Search("d", Contains("foo", false))
                  """{"type":"search","dimension":"d","query":{"type":"contains","value":"foo","caseSensitive":true}}""", Filter.Search("d", Contains("foo", true))
                  """{"type":"search","dimension":"d","query":{"type":"fragment","values":["a","b"]}}""", Filter.Search("d", Fragment([ "a"; "b" ], false))
                  """{"type":"interval","dimension":"__time","intervals":["2014-10-01T00:00:00.000Z/2014-10-07T00:00:00.000Z"]}""",
                  Filter.Interval("__time", [ { Start = iso "2014-10-01T00:00:00Z"; End = iso "2014-10-07T00:00:00Z" } ])
                  """{"type":"columnComparison","dimensions":["a",{"type":"default","dimension":"b","outputType":"LONG"}]}""", Filter.ColumnComparison [ "a"; "b" ]
                  """{"type":"expression","expression":"a > 1"}""", Filter.Expression("a > 1", expr "a > 1")
                  """{"type":"arrayContainsElement","column":"arr","elementMatchValueType":"LONG","elementMatchValue":2}""", Filter.ArrayContainsElement("arr", Value.Long 2L)
                  """{"type":"true"}""", Filter.True
                  """{"type":"false"}""", Filter.False
                  """{"type":"and","fields":[{"type":"true"},{"type":"not","field":{"type":"null","column":"c"}}]}""", Filter.And [ Filter.True; Filter.Not(Filter.Null "c") ]
                  """{"type":"or","fields":[{"type":"false"}]}""", Filter.Or [ Filter.False ] ]
            for text, expected in cases do
                Expect.equal (parsed text) expected text
        }
        test "bad filters are rejected with the JSON path and Druid's wording" {
            let cases =
                [ """{"type":"xyz"}""", ("type", "Unknown filter type [xyz]")
                  """{"dimension":"a"}""", ("type", "is required but missing")
                  "\"selector\"", ("", "expected an object but found a string")
                  """{"type":"selector","value":"x"}""", ("dimension", "is required but missing")
                  """{"type":"selector","dimension":"a","value":"x","extractionFn":{"type":"uppercase"}}""", ("extractionFn.type", "Unknown extractionFn type [uppercase]")
                  """{"type":"in","dimension":"a","values":["x"],"extractionFn":{"type":"substring"}}""", ("extractionFn.index", "is required but missing")
                  """{"type":"equals","column":"a","matchValueType":"STRING"}""", ("matchValue", "is required but missing")
                  """{"type":"equals","column":"a","matchValueType":"BLOB","matchValue":1}""", ("matchValueType", "Unsupported matchValueType [BLOB]")
                  """{"type":"equals","column":"a","matchValueType":"LONG","matchValue":"abc"}""", ("matchValue", "expected a whole number but found \"abc\"")
                  """{"type":"in","dimension":"a","values":"x"}""", ("values", "expected an array but found a string")
                  """{"type":"not","field":{"type":"bound","dimension":"a"}}""", ("field", "lower and upper can not be null at the same time")
                  """{"type":"bound","dimension":"a","lower":"1","ordering":"weird"}""", ("ordering", "Unknown ordering [weird]")
                  """{"type":"bound","dimension":"a","lower":"1","lowerStrict":"maybe"}""", ("lowerStrict", "expected a boolean but found the string \"maybe\"")
                  """{"type":"range","column":"a","matchValueType":"LONG"}""", ("", "Invalid range filter on column [a], lower and upper cannot be null at the same time")
                  """{"type":"range","column":"a","matchValueType":"ARRAY<LONG>","lower":[1]}""", ("matchValueType", "Unsupported matchValueType [ARRAY<LONG>]")
                  """{"type":"like","dimension":"a","pattern":"x","escape":"ab"}""", ("escape", "Escape must be a single character but was [ab]")
                  """{"type":"regex","dimension":"a","pattern":"("}""", ("pattern", "Invalid regular expression [(]")
                  """{"type":"search","dimension":"a","query":{"type":"fuzzy","value":"x"}}""", ("query.type", "Unknown search query type [fuzzy]")
                  """{"type":"search","dimension":"a"}""", ("query", "is required but missing")
                  """{"type":"interval","dimension":"__time","intervals":["2014-10-01/nope"]}""", ("intervals[0]", "Invalid interval [2014-10-01/nope]")
                  """{"type":"interval","dimension":"__time","intervals":[]}""", ("intervals", "must specify at least one interval")
                  """{"type":"columnComparison","dimensions":["a"]}""", ("dimensions", "dimensions must have a least 2 dimensions")
                  """{"type":"expression","expression":"a +"}""", ("expression", "Unexpected end of expression at position 3 in expression \"a +\"")
                  """{"type":"expression","expression":"nope(a)"}""", ("expression", "function 'nope' is not defined at position 0 in expression \"nope(a)\"")
                  """{"type":"and","fields":[]}""", ("fields", "AND operator requires at least one field")
                  """{"type":"or","fields":[{"type":"selector","dimension":"a","value":"x"},{"type":"nope"}]}""", ("fields[1].type", "Unknown filter type [nope]")
                  """{"type":"not"}""", ("field", "is required but missing")
                  """{"type":"null"}""", ("column", "is required but missing")
                  """{"type":"extraction","dimension":"a","value":"x"}""", ("extractionFn", "is required but missing")
                  """{"type":"javascript","dimension":"a","function":"function(x){return true}"}""", ("type", "JavaScript filters are not supported") ]
            for text, expected in cases do
                Expect.equal (parseText text) (Error expected) text
        }
        test "matching rows, one case per filter type" {
            let cases =
                [ "selector", """{"type":"selector","dimension":"dim","value":"apple"}""", [ rowA, true; rowEmpty, false; rowNull, false ]
                  "selector empty string is not null", """{"type":"selector","dimension":"dim","value":""}""", [ rowA, false; rowEmpty, true; rowNull, false ]
                  "selector null", """{"type":"selector","dimension":"dim","value":null}""", [ rowA, false; rowEmpty, false; rowNull, true ]
                  "selector on a long column", """{"type":"selector","dimension":"num","value":"10"}""", [ rowA, true; rowEmpty, false ]
                  "selector on a multi-value column", """{"type":"selector","dimension":"mv","value":"y"}""", [ rowA, true; rowEmpty, false ]
                  "equals long", """{"type":"equals","column":"num","matchValueType":"LONG","matchValue":10}""", [ rowA, true; rowEmpty, false; rowNull, false ]
                  "equals double", """{"type":"equals","column":"dbl","matchValueType":"DOUBLE","matchValue":2.5}""", [ rowA, true; rowNull, false ]
                  "equals string on strings", """{"type":"equals","column":"numText","matchValueType":"LONG","matchValue":10}""", [ rowA, true ]
                  "equals array", """{"type":"equals","column":"mv","matchValueType":"ARRAY<STRING>","matchValue":["x","y"]}""", [ rowA, true; rowEmpty, false; rowNull, false ]
                  "equals array needs every element", """{"type":"equals","column":"mv","matchValueType":"ARRAY<STRING>","matchValue":["x"]}""", [ rowA, false ]
                  "in", """{"type":"in","dimension":"dim","values":["pear","apple"]}""", [ rowA, true; rowEmpty, false; rowNull, false ]
                  "in with null", """{"type":"in","dimension":"dim","values":["pear",null]}""", [ rowA, false; rowNull, true ]
                  "in on longs", """{"type":"in","dimension":"num","values":["-3","7"]}""", [ rowA, false; rowEmpty, true ]
                  "bound lexicographic", """{"type":"bound","dimension":"dim","lower":"a","upper":"b"}""", [ rowA, true; rowEmpty, false; rowNull, false ]
                  "bound numeric on strings", """{"type":"bound","dimension":"numText","lower":"9","ordering":"numeric"}""", [ rowA, true ]
                  "bound lexicographic on strings", """{"type":"bound","dimension":"numText","lower":"9"}""", [ rowA, false ]
                  "bound numeric strict", """{"type":"bound","dimension":"num","lower":"-3","lowerStrict":true,"upper":"10","ordering":"numeric"}""", [ rowA, true; rowEmpty, false ]
                  "bound without lower matches null", """{"type":"bound","dimension":"num","upper":"100","ordering":"numeric"}""", [ rowA, true; rowNull, true ]
                  "bound strlen", """{"type":"bound","dimension":"dim","lower":"zzzz","lowerStrict":true,"ordering":"strlen"}""", [ rowA, true; rowEmpty, false ]
                  "range long", """{"type":"range","column":"num","matchValueType":"LONG","lower":0,"upper":10,"upperOpen":true}""", [ rowA, false; rowEmpty, false; rowNull, false ]
                  "range closed", """{"type":"range","column":"num","matchValueType":"LONG","lower":-3,"upper":10}""", [ rowA, true; rowEmpty, true; rowNull, false ]
                  "range string", """{"type":"range","column":"dim","matchValueType":"STRING","upper":"b"}""", [ rowA, true; rowEmpty, true; rowNull, false ]
                  "null", """{"type":"null","column":"dim"}""", [ rowA, false; rowEmpty, false; rowNull, true ]
                  "null on an empty multi-value row", """{"type":"null","column":"mv"}""", [ rowA, false; rowEmpty, true ]
                  "like", """{"type":"like","dimension":"s","pattern":"Hel%W_rld"}""", [ rowA, true; rowEmpty, false; rowNull, false ]
                  "like with escape", """{"type":"like","dimension":"x","pattern":"100!%","escape":"!"}""", [ row [ "x", Value.String "100%" ], true; row [ "x", Value.String "1000" ], false ]
                  "regex finds anywhere", """{"type":"regex","dimension":"s","pattern":"o W"}""", [ rowA, true; rowNull, false ]
                  "search insensitive", """{"type":"search","dimension":"s","query":{"type":"insensitive_contains","value":"WORLD"}}""", [ rowA, true; rowEmpty, false ]
                  "search contains defaults to insensitive", """{"type":"search","dimension":"s","query":{"type":"contains","value":"WORLD"}}""", [ rowA, true ]
                  "search case sensitive", """{"type":"search","dimension":"s","query":{"type":"contains","value":"WORLD","caseSensitive":true}}""", [ rowA, false ]
                  "search fragment", """{"type":"search","dimension":"s","query":{"type":"fragment","values":["hello","orl"]}}""", [ rowA, true ]
                  "interval is half-open", """{"type":"interval","dimension":"__time","intervals":["2014-10-01T00:00:00.000Z/2014-10-07T00:00:00.000Z"]}""", [ rowA, true; rowEmpty, false; rowNull, false ]
                  "column comparison", """{"type":"columnComparison","dimensions":["dim","other"]}""", [ rowA, true; rowEmpty, false; rowNull, true ]
                  "column comparison across types", """{"type":"columnComparison","dimensions":["num","numText"]}""", [ rowA, true ]
                  "expression", """{"type":"expression","expression":"num * 2 > 15 && dim == 'apple'"}""", [ rowA, true; rowEmpty, false; rowNull, false ]
                  "array contains element", """{"type":"arrayContainsElement","column":"mv","elementMatchValueType":"STRING","elementMatchValue":"x"}""", [ rowA, true; rowEmpty, false ]
                  "true", """{"type":"true"}""", [ rowNull, true ]
                  "false", """{"type":"false"}""", [ rowA, false ]
                  "and", """{"type":"and","fields":[{"type":"selector","dimension":"mv","value":"x"},{"type":"selector","dimension":"mv","value":"y"}]}""", [ rowA, true; rowEmpty, false ]
                  "or", """{"type":"or","fields":[{"type":"selector","dimension":"dim","value":"pear"},{"type":"selector","dimension":"num","value":"-3"}]}""", [ rowA, false; rowEmpty, true ]
                  "not negates the whole multi-value row", """{"type":"not","field":{"type":"selector","dimension":"mv","value":"x"}}""", [ rowA, false; rowEmpty, false ]
                  "not of unknown stays unknown", """{"type":"not","field":{"type":"selector","dimension":"dim","value":"apple"}}""", [ rowA, false; rowEmpty, true; rowNull, false ]
                  "not of is-null", """{"type":"not","field":{"type":"null","column":"dim"}}""", [ rowA, true; rowNull, false ]
                  "or of unknown and true", """{"type":"or","fields":[{"type":"selector","dimension":"dim","value":"x"},{"type":"true"}]}""", [ rowNull, true ]
                  "not of (unknown or false)", """{"type":"not","field":{"type":"or","fields":[{"type":"selector","dimension":"dim","value":"x"},{"type":"false"}]}}""", [ rowNull, false; rowA, true ] ]
            for name, text, expectations in cases do
                let f = parsed text
                let predicate = Filter.compile f
                for i, (r, expected) in List.indexed expectations do
                    Expect.equal (predicate r) expected (sprintf "%s (row %d)" name i)
                    Expect.equal (Filter.matchesRow r f) expected (sprintf "%s via matchesRow (row %d)" name i)
        }
        test "single-column predicates for dictionary evaluation" {
            let column, matches = (Filter.singleColumnPredicate (parsed """{"type":"in","dimension":"d","values":["a",null]}""")).Value
            Expect.equal column "d" "column"
            Expect.equal [ matches (Value.String "a"); matches (Value.String "b"); matches Value.Null ] [ true; false; true ] "in"
            let _, truth = (Filter.singleColumnTruth (parsed """{"type":"selector","dimension":"d","value":"a"}""")).Value
            Expect.equal [ truth (Value.String "a"); truth (Value.String "b"); truth Value.Null ] [ Yes; No; Unknown ] "three-valued"
            let _, time = (Filter.singleColumnPredicate (parsed """{"type":"interval","dimension":"__time","intervals":["2014-10-01/2014-10-02"]}""")).Value
            Expect.equal [ time (Value.Long(iso "2014-10-01")); time (Value.Long(iso "2014-10-02")) ] [ true; false ] "half-open interval"
            Expect.isNone (Filter.singleColumnPredicate (parsed """{"type":"not","field":{"type":"null","column":"d"}}""")) "not is not a leaf"
            Expect.isNone (Filter.singleColumnPredicate (parsed """{"type":"expression","expression":"d == 'a'"}""")) "expression is not a leaf"
        }
        test "required columns" {
            let f =
                parsed """{"type":"and","fields":[{"type":"selector","dimension":"a","value":"x"},
                          {"type":"expression","expression":"b + c > 0"},
                          {"type":"not","field":{"type":"columnComparison","dimensions":["d","a"]}},{"type":"true"}]}"""
            Expect.equal (Filter.requiredColumns f) [ "a"; "b"; "c"; "d" ] "in order, without repeats"
        }
        test "string orderings" {
            Expect.isLessThan (compareWith StringOrdering.Alphanumeric "file2" "file12") 0 "alphanumeric"
            Expect.isGreaterThan (compareWith StringOrdering.Lexicographic "file2" "file12") 0 "lexicographic"
            Expect.isLessThan (compareWith StringOrdering.Numeric "-5" "1.5") 0 "numeric"
            Expect.isLessThan (compareWith StringOrdering.Numeric "abc" "-100") 0 "unparseable before numbers"
            Expect.isLessThan (compareWith StringOrdering.Strlen "zz" "aaa") 0 "strlen"
            Expect.isGreaterThan (compareWith StringOrdering.Version "10.0" "9.0") 0 "version"
            Expect.isGreaterThan (compareWith StringOrdering.Version "1.0.0-SNAPSHOT" "1.0.0") 0 "snapshot after release"
            Expect.isGreaterThan (compareWith StringOrdering.Lexicographic "\U0001F600" "\uFFFD") 0 "UTF-8 order puts astral characters last"
            Expect.isLessThan (compareWith StringOrdering.Lexicographic null "") 0 "null first"
        }
        testProperty "matchesRow agrees with a naive three-valued oracle" <| Prop.forAll arbCase (fun (cells, f) ->
            let r = row cells
            Filter.matchesRow r f = (oracle r f = Some true))
    ]
