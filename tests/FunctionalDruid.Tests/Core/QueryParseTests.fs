module FunctionalDruid.Tests.Core.QueryParseTests

open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.Extraction

let private parsed (text: string) =
    match QueryParseSurface.parseText text with
    | Ok q -> q
    | Error(path, problem) -> failwithf "%s: %s" path problem

let private kindOf text = (parsed text).Kind

let private onNode (parser: Json.Node -> 'a) (text: string) : Result<'a, string * string> = Json.run text parser

let private ok parser text =
    match onNode parser text with
    | Ok v -> v
    | Error(path, problem) -> failwithf "%s: %s" path problem

let private utc = NodaTime.DateTimeZone.Utc

[<Tests>]
let extractionTests =
    testList "Extraction" [
        test "every extraction function parses into its case" {
            let cases =
                [ """{"type":"timeFormat","format":"H","locale":"en-US","timeZone":"Etc/UTC"}""", ExtractionFn.TimeFormat(Some "H", Some "Etc/UTC", Some "en-US", None, false)
                  """{"type":"timeFormat","granularity":"day","asMillis":true}""", ExtractionFn.TimeFormat(None, None, None, Time.tryGranularityOfName "day", true)
                  """{"type":"time","timeFormat":"yyyy-MM-dd","resultFormat":"MM/yyyy","joda":true}""", ExtractionFn.Time("yyyy-MM-dd", "MM/yyyy", true)
                  """{"type":"substring","index":1,"length":2}""", ExtractionFn.Substring(1, Some 2)
                  """{"type":"substring","index":3}""", ExtractionFn.Substring(3, None)
                  """{"type":"regex","expr":"(\\w)\\w*","replaceMissingValue":true,"replaceMissingValueWith":"none"}""", ExtractionFn.Regex("(\\w)\\w*", 1, true, Some "none")
                  """{"type":"partial","expr":"^a"}""", ExtractionFn.Partial "^a"
                  """{"type":"searchQuery","query":{"type":"fragment","values":["a","b"],"caseSensitive":true}}""", ExtractionFn.SearchQuery(Fragment([ "a"; "b" ], true))
                  """{"type":"strlen"}""", ExtractionFn.Strlen
                  """{"type":"upper","locale":"fr"}""", ExtractionFn.Upper(Some "fr")
                  """{"type":"lower"}""", ExtractionFn.Lower None
                  """{"type":"bucket","size":5,"offset":2}""", ExtractionFn.Bucket(5.0, 2.0)
                  """{"type":"stringFormat","format":"[%s]"}""", ExtractionFn.StringFormat("[%s]", "nullString")
                  """{"type":"lookup","lookup":{"type":"map","map":{"a":"A"}},"retainMissingValue":true}""", ExtractionFn.Lookup([ "a", "A" ], true, None, false)
                  """{"type":"cascade","extractionFns":[{"type":"upper"},{"type":"strlen"}]}""", ExtractionFn.Cascade [ ExtractionFn.Upper None; ExtractionFn.Strlen ] ]
            for text, expected in cases do Expect.equal (ok Extraction.parse text) expected text
        }
        test "bad extraction functions name the field" {
            let cases =
                [ """{"type":"nope"}""", ("type", "Unknown extractionFn type [nope]")
                  """{"type":"javascript","function":"x"}""", ("type", "JavaScript is disabled")
                  """{"type":"timeFormat","timeZone":"Mars/Base"}""", ("timeZone", "The datetime zone id 'Mars/Base' is not recognised")
                  """{"type":"regex","expr":"("}""", ("expr", "Invalid regular expression [(]")
                  """{"type":"substring","index":-1}""", ("index", "index must be >= 0")
                  """{"type":"cascade","extractionFns":[]}""", ("extractionFns", "extractionFns should not be empty")
                  """{"type":"lookup","lookup":{"type":"map","map":{}},"retainMissingValue":true,"replaceMissingValueWith":"x"}""", ("", "Cannot specify a [replaceMissingValueWith] and set [retainMissingValue] to true") ]
            for text, expected in cases do Expect.equal (onNode Extraction.parse text) (Error expected) text
        }
        test "applying extraction functions" {
            let s x = Value.String x
            let t = (Time.tryParseInstant "2013-08-31T01:02:33.456Z").Value
            let cases =
                [ ExtractionFn.Substring(1, Some 2), s "abcdef", "bc"
                  ExtractionFn.Substring(4, Some 5), s "abcdef", "ef"
                  ExtractionFn.Substring(6, None), s "abcdef", null
                  ExtractionFn.Substring(0, None), Value.Null, null
                  ExtractionFn.Strlen, s "héllo", "5"
                  ExtractionFn.Strlen, Value.Null, null
                  ExtractionFn.Upper None, s "abc", "ABC"
                  ExtractionFn.Lower None, s "ABC", "abc"
                  ExtractionFn.Regex("a(b+)", 1, false, None), s "xabbby", "bbb"
                  ExtractionFn.Regex("a(b+)", 1, false, None), s "xyz", "xyz"
                  ExtractionFn.Regex("a(b+)", 1, true, Some "none"), s "xyz", "none"
                  ExtractionFn.Regex("a(b+)", 1, true, None), s "xyz", null
                  ExtractionFn.Partial "^a", s "abc", "abc"
                  ExtractionFn.Partial "^a", s "bac", null
                  ExtractionFn.SearchQuery(Contains("B", false)), s "abc", "abc"
                  ExtractionFn.SearchQuery(Contains("B", true)), s "abc", null
                  ExtractionFn.Bucket(5.0, 2.0), s "13", "12"
                  ExtractionFn.Bucket(0.5, 0.0), Value.Double 1.7, "1.5"
                  ExtractionFn.Bucket(1.0, 0.0), s "abc", null
                  ExtractionFn.TimeFormat(Some "yyyy-MM-dd HH", None, None, None, false), Value.Long t, "2013-08-31 01"
                  ExtractionFn.TimeFormat(Some "H", Some "Asia/Shanghai", None, None, false), Value.Long t, "9"
                  ExtractionFn.TimeFormat(None, None, None, Time.tryGranularityOfName "day", false), Value.Long t, "2013-08-31T00:00:00.000Z"
                  ExtractionFn.TimeFormat(None, None, None, None, false), s "2013-08-31T01:02:33.456Z", "2013-08-31T01:02:33.456Z"
                  ExtractionFn.TimeFormat(Some "yyyy", None, None, None, true), s (string t), "2013"
                  ExtractionFn.Time("yyyy-MM-dd", "MM/yyyy", true), s "2013-08-31", "08/2013"
                  ExtractionFn.Time("yyyy-MM-dd", "MM/yyyy", true), s "not a date", "not a date"
                  ExtractionFn.StringFormat("[%s]", "nullString"), Value.Null, "[null]"
                  ExtractionFn.StringFormat("[%s]", "emptyString"), Value.Null, "[]"
                  ExtractionFn.StringFormat("[%s]", "returnNull"), Value.Null, null
                  ExtractionFn.StringFormat("[%s]", "returnNull"), s "a", "[a]"
                  ExtractionFn.Lookup([ "a", "A" ], false, None, false), s "a", "A"
                  ExtractionFn.Lookup([ "a", "A" ], false, None, false), s "b", null
                  ExtractionFn.Lookup([ "a", "A" ], true, None, false), s "b", "b"
                  ExtractionFn.Lookup([ "a", "A" ], false, Some "?", false), s "b", "?"
                  ExtractionFn.Cascade [ ExtractionFn.Substring(0, Some 3); ExtractionFn.Upper None; ExtractionFn.Strlen ], s "abcdef", "3"
                  ExtractionFn.Cascade [ ExtractionFn.Partial "^z"; ExtractionFn.StringFormat("<%s>", "nullString") ], s "abc", "<null>" ]
            for fn, input, expected in cases do
                Expect.equal (Extraction.apply fn input) expected (sprintf "%A on %A" fn input)
        }
        test "filters with an extractionFn match on the extracted value" {
            let f = ok Filter.parse """{"type":"selector","dimension":"d","value":"AB","extractionFn":{"type":"upper"}}"""
            Expect.equal f (Filter.Extracted(Filter.Selector("d", Some "AB"), ExtractionFn.Upper None)) "parsed"
            let row v = fun (c: string) -> if c = "d" then v else Value.Null
            Expect.isTrue (Filter.matchesRow (row (Value.String "ab")) f) "ab upper-cased"
            Expect.isFalse (Filter.matchesRow (row (Value.String "abc")) f) "abc"
            let nullSel = ok Filter.parse """{"type":"selector","dimension":"d","value":null,"extractionFn":{"type":"partial","expr":"^x"}}"""
            Expect.isTrue (Filter.matchesRow (row (Value.String "abc")) nullSel) "extracted null matches a null selector"
            let bound = ok Filter.parse """{"type":"bound","dimension":"d","lower":"3","ordering":"numeric","extractionFn":{"type":"strlen"}}"""
            Expect.isTrue (Filter.matchesRow (row (Value.String "abcd")) bound) "strlen 4 >= 3"
            Expect.isFalse (Filter.matchesRow (row (Value.String "ab")) bound) "strlen 2"
            let inTime = ok Filter.parse """{"type":"in","dimension":"__time","values":["1","2"],"extractionFn":{"type":"timeFormat","format":"M"}}"""
            Expect.isTrue (Filter.matchesRow (fun _ -> Value.Long 1_000_000L) inTime) "January"
            let legacy = ok Filter.parse """{"type":"extraction","dimension":"d","value":"b","extractionFn":{"type":"substring","index":1,"length":1}}"""
            Expect.isTrue (Filter.matchesRow (row (Value.String "abc")) legacy) "legacy extraction filter"
            let mv = ok Filter.parse """{"type":"search","dimension":"d","query":{"type":"contains","value":"Z"},"extractionFn":{"type":"upper"}}"""
            Expect.isTrue (Filter.matchesRow (row (Value.Array [| Value.String "a"; Value.String "z" |])) mv) "any value of a multi-value row"
        }
    ]

[<Tests>]
let queryParseTests =
    testList "QueryParse" [
        test "dimension specs in every shape" {
            let cases =
                [ "\"page\"", DimensionSpec.Default("page", "page", ColumnType.String)
                  """{"type":"default","dimension":"page","outputName":"p","outputType":"long"}""", DimensionSpec.Default("page", "p", ColumnType.Long)
                  """{"dimension":"page"}""", DimensionSpec.Default("page", "page", ColumnType.String)
                  """{"type":"extraction","dimension":"__time","outputName":"h","extractionFn":{"type":"timeFormat","format":"H"},"outputType":"LONG"}""",
                  DimensionSpec.Extraction("__time", "h", ColumnType.Long, ExtractionFn.TimeFormat(Some "H", None, None, None, false))
                  """{"type":"extraction","dimension":"d","outputName":"x","dimExtractionFn":{"type":"strlen"}}""", DimensionSpec.Extraction("d", "x", ColumnType.String, ExtractionFn.Strlen)
                  """{"type":"listFiltered","delegate":"tags","values":["a","b"]}""", DimensionSpec.ListFiltered(DimensionSpec.Default("tags", "tags", ColumnType.String), [ "a"; "b" ], true)
                  """{"type":"listFiltered","delegate":{"type":"default","dimension":"tags","outputName":"t"},"values":["a"],"isWhitelist":false}""",
                  DimensionSpec.ListFiltered(DimensionSpec.Default("tags", "t", ColumnType.String), [ "a" ], false)
                  """{"type":"regexFiltered","delegate":"tags","pattern":"^a"}""", DimensionSpec.RegexFiltered(DimensionSpec.Default("tags", "tags", ColumnType.String), "^a")
                  """{"type":"prefixFiltered","delegate":"tags","prefix":"a"}""", DimensionSpec.PrefixFiltered(DimensionSpec.Default("tags", "tags", ColumnType.String), "a")
                  """{"type":"lookup","dimension":"d","outputName":"o","lookup":{"type":"map","map":{"a":"A"}},"retainMissingValue":true}""",
                  DimensionSpec.Extraction("d", "o", ColumnType.String, ExtractionFn.Lookup([ "a", "A" ], true, None, true)) ]
            for text, expected in cases do Expect.equal (ok QueryParse.parseDimensionSpec text) expected text
            Expect.equal (onNode QueryParse.parseDimensionSpec """{"type":"extraction","dimension":"d"}""") (Error("", "extractionFn is required but missing")) "no fn"
            Expect.equal (onNode QueryParse.parseDimensionSpec """{"type":"default","dimension":"d","outputType":"BLOB"}""") (Error("outputType", "Unknown outputType [BLOB]; expected STRING, LONG, FLOAT, DOUBLE or ARRAY<STRING|LONG|DOUBLE>")) "bad type"
            Expect.equal (onNode QueryParse.parseDimensionSpec """{"type":"weird","dimension":"d"}""") (Error("type", "Unknown dimensionSpec type [weird]")) "bad spec type"
        }
        test "topN metric specs" {
            let cases =
                [ "\"added\"", TopNMetric.Numeric "added"
                  """{"type":"numeric","metric":"added"}""", TopNMetric.Numeric "added"
                  """{"type":"inverted","metric":"Count"}""", TopNMetric.Inverted(TopNMetric.Numeric "Count")
                  """{"type":"inverted","metric":{"type":"dimension","ordering":"numeric"}}""", TopNMetric.Inverted(TopNMetric.Dimension(Ordering.StringOrdering.Numeric, None))
                  """{"type":"dimension","ordering":"lexicographic","previousStop":"b"}""", TopNMetric.Dimension(Ordering.StringOrdering.Lexicographic, Some "b")
                  """{"type":"dimension"}""", TopNMetric.Dimension(Ordering.StringOrdering.Lexicographic, None)
                  """{"type":"dimension","ordering":{"type":"strlen"}}""", TopNMetric.Dimension(Ordering.StringOrdering.Strlen, None)
                  """{"type":"lexicographic","previousStop":"x"}""", TopNMetric.Dimension(Ordering.StringOrdering.Lexicographic, Some "x")
                  """{"type":"alphaNumeric"}""", TopNMetric.Dimension(Ordering.StringOrdering.Alphanumeric, None) ]
            for text, expected in cases do Expect.equal (ok QueryParse.parseTopNMetric text) expected text
        }
        test "having specs" {
            let cases =
                [ """{"type":"greaterThan","aggregation":"Added","value":100}""", Having.GreaterThan("Added", Value.Long 100L)
                  """{"type":"lessThan","aggregation":"a","value":1.5}""", Having.LessThan("a", Value.Double 1.5)
                  """{"type":"equalTo","aggregation":"a","value":"7"}""", Having.EqualTo("a", Value.Long 7L)
                  """{"type":"dimSelector","dimension":"d","value":"x"}""", Having.DimSelector("d", Some "x")
                  """{"type":"filter","filter":{"type":"bound","dimension":"Added","ordering":"numeric","lower":100,"lowerStrict":true}}""",
                  Having.Filter(Filter.Bound { Dimension = "Added"; Lower = Some "100"; Upper = None; LowerStrict = true; UpperStrict = false; Ordering = Ordering.StringOrdering.Numeric })
                  """{"type":"and","havingSpecs":[{"type":"always"},{"type":"not","havingSpec":{"type":"equalTo","aggregation":"a","value":0}}]}""",
                  Having.And [ Having.Always; Having.Not(Having.EqualTo("a", Value.Long 0L)) ]
                  """{"type":"or","havingSpecs":[]}""", Having.Or [] ]
            for text, expected in cases do Expect.equal (ok QueryParse.parseHaving text) expected text
            Expect.equal (onNode QueryParse.parseHaving """{"type":"between"}""") (Error("type", "Unknown having type [between]")) "unknown"
        }
        test "limit specs" {
            Expect.equal (ok QueryParse.parseLimitSpec """{"type":"default","columns":[{"dimension":"Added","direction":"descending"},"page",{"dimension":"n","dimensionOrder":"numeric"}],"limit":10,"offset":2}""")
                { Columns =
                    [ { Column = "Added"; Descending = true; Ordering = Ordering.StringOrdering.Lexicographic }
                      { Column = "page"; Descending = false; Ordering = Ordering.StringOrdering.Lexicographic }
                      { Column = "n"; Descending = false; Ordering = Ordering.StringOrdering.Numeric } ]
                  Limit = Some 10
                  Offset = 2 } "full"
            Expect.equal (onNode QueryParse.parseLimitSpec """{"type":"default","limit":0}""") (Error("limit", "limit[0] must be >0")) "zero limit"
            Expect.equal (onNode QueryParse.parseLimitSpec """{"type":"default","offset":-1}""") (Error("offset", "offset[-1] must be >= 0")) "negative offset"
            Expect.equal (onNode QueryParse.parseLimitSpec """{"type":"default","columns":[{"dimension":"a","direction":"up"}]}""") (Error("columns[0].direction", "Unknown direction [up]; expected ascending or descending")) "direction"
        }
        test "a topN query" {
            let q =
                parsed """{"queryType":"topN","dataSource":"wiki","intervals":"2015-09-12T00Z/2015-09-13T00Z","granularity":"all",
                           "dimension":"page","metric":{"type":"inverted","metric":"count"},"threshold":"5",
                           "aggregations":[{"type":"count","name":"count"}],
                           "postAggregations":[{"type":"finalizingFieldAccess","name":"f","fieldName":"count"},{"type":"arithmetic","name":"x","fn":"*","ordering":"numericFirst","fields":[{"type":"fieldAccess","fieldName":"f"},{"type":"constant","value":2}]}],
                           "virtualColumns":[{"type":"expression","name":"v","expression":"page + 'x'","outputType":"STRING"}]}"""
            Expect.equal q.DataSource (DataSource.Table "wiki") "data source"
            Expect.equal q.Intervals [ (Time.tryParseInterval "2015-09-12/2015-09-13").Value ] "compact interval string"
            Expect.equal (q.VirtualColumns |> List.map (fun v -> v.Name, v.OutputType)) [ "v", Some ColumnType.String ] "virtual columns"
            match q.Kind with
            | QueryKind.TopN t ->
                Expect.equal t.Dimension (DimensionSpec.Default("page", "page", ColumnType.String)) "dimension"
                Expect.equal t.Metric (TopNMetric.Inverted(TopNMetric.Numeric "count")) "metric"
                Expect.equal t.Threshold 5 "threshold as a string"
                Expect.equal t.Granularity Time.Granularity.All "granularity"
                Expect.equal t.PostAggregations
                    [ PostAggregator.FinalizingFieldAccess("f", "count")
                      PostAggregator.OrderedArithmetic("x", "*", [ PostAggregator.FieldAccess("", "f"); PostAggregator.Constant("", Value.Long 2L) ], "numericFirst") ] "post-aggregators"
            | other -> failtestf "not a topN: %A" other
        }
        test "a groupBy query" {
            let q =
                parsed """{"queryType":"groupBy","dataSource":{"type":"table","name":"wiki"},"intervals":["2015-09-12/2015-09-13"],"granularity":{"type":"period","period":"P1D","timeZone":"Asia/Shanghai"},
                           "dimensions":["channel",{"type":"extraction","dimension":"page","outputName":"first","extractionFn":{"type":"substring","index":0,"length":1}}],
                           "aggregations":[{"type":"longSum","name":"added","fieldName":"added"},{"type":"hyperUnique","name":"u","fieldName":"user_unique"}],
                           "postAggregations":[{"type":"hyperUniqueCardinality","name":"uc","fieldName":"u"}],
                           "having":{"type":"greaterThan","aggregation":"added","value":10},
                           "limitSpec":{"type":"default","columns":[{"dimension":"added","direction":"descending"}],"limit":3},
                           "subtotalsSpec":[["channel"],[]],
                           "context":{"sortByDimsFirst":"true"}}"""
            match q.Kind with
            | QueryKind.GroupBy g ->
                Expect.equal (g.Dimensions |> List.map (fun d -> d.OutputName)) [ "channel"; "first" ] "dimensions"
                Expect.equal g.Having (Some(Having.GreaterThan("added", Value.Long 10L))) "having"
                Expect.equal (g.LimitSpec |> Option.map (fun l -> l.Limit)) (Some(Some 3)) "limit"
                Expect.equal g.SubtotalsSpec (Some [ [ "channel" ]; [] ]) "subtotals"
                Expect.equal g.PostAggregations [ PostAggregator.HyperUniqueCardinality("uc", "u", false) ] "post-aggregators"
                Expect.equal (Time.formatInZone (Time.granularityZone g.Granularity) (Time.bucketStart g.Granularity 0L)) "1970-01-01T00:00:00.000+08:00" "zone granularity"
            | other -> failtestf "not a groupBy: %A" other
            Expect.equal (q.ContextValue "sortByDimsFirst") (Some "true") "context"
        }
        test "timeseries completions: limit, grandTotal and skipEmptyBuckets as strings" {
            let q =
                parsed """{"queryType":"timeseries","dataSource":"wiki","intervals":["2015-09-12/2015-09-13"],"granularity":"hour","descending":"true","limit":5,
                           "aggregations":[{"type":"count","name":"rows"}],"context":{"skipEmptyBuckets":"true","grandTotal":true}}"""
            match q.Kind with
            | QueryKind.Timeseries t ->
                Expect.equal (t.Limit, t.SkipEmptyBuckets, t.GrandTotal, t.Descending) (Some 5, true, true, true) "flags"
            | other -> failtestf "not a timeseries: %A" other
        }
        test "bad queries answer Druid's messages with the JSON path" {
            let cases =
                [ """{"queryType":"topN","dataSource":"w","intervals":"2015/2016","metric":"c","threshold":3,"aggregations":[{"type":"count","name":"c"}]}""", ("", "dimensionSpec can't be null")
                  """{"queryType":"topN","dataSource":"w","intervals":"2015/2016","dimension":"d","threshold":3}""", ("", "must specify a metric")
                  """{"queryType":"topN","dataSource":"w","intervals":"2015/2016","dimension":"d","metric":"c","threshold":0,"aggregations":[{"type":"count","name":"c"}]}""", ("threshold", "Threshold cannot be equal to 0.")
                  """{"queryType":"topN","dataSource":"w","intervals":"2015/2016","dimension":"d","metric":"x","threshold":1,"aggregations":[{"type":"count","name":"c"}]}""",
                  ("metric", "Must have an AggregatorFactory or PostAggregator for metric[x], gave aggs[c] and postAggs[]")
                  """{"queryType":"groupBy","dataSource":"w","intervals":"2015/2016","dimensions":["d"],"aggregations":[{"type":"count","name":"d"}]}""", ("aggregations", "Duplicate output name [d]")
                  """{"queryType":"groupBy","dataSource":"w","intervals":"2015/2016","dimensions":["d"],"aggregations":[],"postAggregations":[{"type":"fieldAccess","name":"p","fieldName":"zz"}]}""",
                  ("postAggregations[0]", "Missing fields [[zz]] for postAggregator [p]")
                  """{"queryType":"groupBy","dataSource":"w","intervals":"2015/2016","dimensions":["d"],"subtotalsSpec":[["e"]]}""", ("subtotalsSpec[0]", "Subtotal spec [e] is either not a subset of top level dimensions.")
                  """{"queryType":"groupBy","dataSource":"w","intervals":"2015/2016","dimensions":[],"virtualColumns":[{"type":"expression","name":"v","expression":"a +"}]}""",
                  ("virtualColumns[0].expression", "Unexpected end of expression at position 3 in expression \"a +\"")
                  """{"queryType":"groupBy","dataSource":"w","intervals":"2015/2016","virtualColumns":[{"type":"mystery","name":"v"}]}""", ("virtualColumns[0].type", "Unknown virtualColumn type [mystery]")
                  """{"queryType":"timeseries","dataSource":"w","intervals":"2015/2016","limit":0}""", ("limit", "limit[0] must be >0")
                  """{"queryType":"timeseries","dataSource":"w"}""", ("", "intervals is required but missing") ]
            for text, expected in cases do Expect.equal (QueryParseSurface.parseText text) (Error expected) text
        }
        test "scan queries read virtual columns too" {
            let q = parsed """{"queryType":"scan","dataSource":"w","intervals":"2015/2016","limit":3,"virtualColumns":[{"type":"expression","name":"time","expression":"__time","outputType":"STRING"}]}"""
            match q.Kind with
            | QueryKind.Scan s -> Expect.equal s.Limit (Some 3L) "scan limit"
            | other -> failtestf "not a scan: %A" other
            Expect.equal (q.VirtualColumns |> List.map (fun v -> v.Name)) [ "time" ] "virtual columns on scan"
        }
    ]
