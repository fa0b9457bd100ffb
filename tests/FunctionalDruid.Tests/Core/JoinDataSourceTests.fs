/// Druid's native `join` data source: parsing (condition rules, lookup rejected), hash-join
/// execution under scan, topN and timeseries (inner/left/right, multi-match, null keys,
/// subquery on the right), and a property against a nested-loop join oracle.
module FunctionalDruid.Tests.Core.JoinDataSourceTests

open Expecto
open FsCheck
open FsCheck.FSharp
open FunctionalDruid.Core
open FunctionalDruid.Core.QuerySlices

let private t (s: string) = (Time.tryParseInstant s).Value

let private slice (id: string) (rows: (string * string option * int64) list) : SegmentSlice =
    let times = rows |> List.map (fun (time, _, _) -> t time) |> Array.ofList
    let cells =
        rows
        |> List.map (fun (_, user, added) -> [| (match user with Some u -> Value.String u | None -> Value.Null); Value.Long added |])
        |> Array.ofList
    let content = contentOfRows [ "user", Some ColumnType.String; "added", Some ColumnType.Long ] times cells
    { Id = id; Content = content; Serves = Time.eternity }

let private edits1 =
    slice "edits1" [ "2020-01-01T01:00Z", Some "ann", 1L; "2020-01-01T02:00Z", Some "bob", 2L; "2020-01-01T03:00Z", None, 3L ]

let private edits2 = slice "edits2" [ "2020-01-02T01:00Z", Some "ann", 4L; "2020-01-02T05:00Z", Some "cy", 5L ]

let private slicesOf (name: string) (_: Time.Interval list) = if name = "edits" then [ edits1; edits2 ] else []

let private parsed (text: string) =
    match QueryParseSurface.parseText text with
    | Ok q -> q
    | Error(path, problem) -> failtestf "parse failed at %s: %s" path problem

let private run (text: string) = Json.Out.toText false (QueryExecution.execute sequential slicesOf (parsed text))

let private parseError (text: string) =
    match QueryParseSurface.parseText text with
    | Ok _ -> failtestf "expected a parse error for %s" text
    | Error(path, problem) -> path, problem

let private teams =
    """{"type":"inline","columnNames":["user","team"],"columnTypes":["string","string"],
        "rows":[["ann","red"],["bob","blue"],["ann","green"],[null,"nobody"]]}"""

let private join (right: string) (condition: string) (joinType: string) =
    sprintf """{"type":"join","left":"edits","right":%s,"rightPrefix":"j.","condition":"%s","joinType":"%s"}""" right condition joinType

let private scan (dataSource: string) (columns: string) =
    sprintf """{"queryType":"scan","dataSource":%s,"intervals":"2020/2021","columns":%s,"resultFormat":"compactedList"}""" dataSource columns

// ---- property: hash join = nested-loop join -------------------------------------------------

type JoinCase =
    { Left: (string option * int64) list
      Right: (string option * int64) list
      Kind: string }

let private keyGen = Gen.elements [ Some "a"; Some "b"; Some "c"; Some ""; None ]

let private joinCaseGen =
    gen {
        let! left = Gen.listOf (Gen.zip keyGen (Gen.choose (0, 9) |> Gen.map int64))
        let! right = Gen.listOf (Gen.zip keyGen (Gen.choose (0, 9) |> Gen.map int64))
        let! kind = Gen.elements [ "INNER"; "LEFT" ]
        return { Left = List.truncate 12 left; Right = List.truncate 6 right; Kind = kind }
    }

let private cellText (v: Value) = match v with Value.Null -> "null" | Value.String s -> "s:" + s | other -> sprintf "%A" other

/// Every pair whose keys are equal and non-null; for LEFT, lone left rows with nulls.
let private nestedLoop (c: JoinCase) : string list =
    [ for (lk, lv) in c.Left do
        let matches = [ for (rk, rv) in c.Right do if lk.IsSome && lk = rk then yield rk, rv ]
        if matches.IsEmpty then
            if c.Kind = "LEFT" then yield sprintf "%A|%d|null|null" lk lv
        else
            for (rk, rv) in matches -> sprintf "%A|%d|%A|%d" lk lv rk rv ]
    |> List.sort

let private hashJoined (c: JoinCase) : string list =
    let left = slice "left" [ for (k, v) in c.Left -> "2020-01-01T00:00Z", k, v ]
    let rightRows =
        c.Right
        |> List.map (fun (k, v) -> (match k with Some k -> sprintf "\"%s\"" k | None -> "null") + "," + string v)
        |> List.map (sprintf "[%s]")
        |> String.concat ","
    let text =
        sprintf """{"queryType":"scan","dataSource":{"type":"join","left":"t","right":{"type":"inline","columnNames":["k","v"],"columnTypes":["string","long"],"rows":[%s]},
                   "rightPrefix":"r.","condition":"user == \"r.k\"","joinType":"%s"},"intervals":"2020/2021","columns":["user","added","r.k","r.v"],"resultFormat":"compactedList"}"""
            rightRows c.Kind
    let out = QueryExecution.execute sequential (fun _ _ -> [ left ]) (parsed text)
    let asOption (o: Json.Out) = match o with Json.Out.String s -> Some s | _ -> None
    let asNumber (o: Json.Out) = match o with Json.Out.Long l -> string l | _ -> "null"
    [ match out with
      | Json.Out.Array batches ->
          for batch in batches do
              match batch with
              | Json.Out.Object fields ->
                  match fields |> List.tryFind (fun (k, _) -> k = "events") with
                  | Some(_, Json.Out.Array rows) ->
                      for row in rows do
                          match row with
                          | Json.Out.Array [ u; a; rk; rv ] ->
                              let rightKey = match rk with Json.Out.Null -> "null" | other -> sprintf "%A" (asOption other)
                              yield sprintf "%A|%s|%s|%s" (asOption u) (asNumber a) rightKey (asNumber rv)
                          | other -> failtestf "unexpected event %A" other
                  | _ -> ()
              | _ -> ()
      | _ -> () ]
    |> List.sort

[<Tests>]
let joinProperty =
    testList "JoinDataSource property" [
        testProperty "hash join equals a nested-loop join (inner and left, null keys never match)" <|
            Prop.forAll (Arb.fromGen joinCaseGen) (fun c -> hashJoined c = nestedLoop c)
    ]

[<Tests>]
let tests =
    testList "JoinDataSource" [
        test "inner join multiplies multi-matches and drops unmatched and null-key rows" {
            let out = run (scan (join teams "\\\"user\\\" == \\\"j.user\\\"" "INNER") """["user","added","j.team"]""")
            Expect.equal out
                ("""[{"segmentId":"edits1","columns":["user","added","j.team"],"events":[["ann",1,"red"],["ann",1,"green"],["bob",2,"blue"]]},"""
                 + """{"segmentId":"edits2","columns":["user","added","j.team"],"events":[["ann",4,"red"],["ann",4,"green"]]}]""")
                "inner join rows"
        }
        test "left join keeps unmatched left rows with nulls; a null key never meets a null key" {
            let out = run (scan (join teams "\\\"j.user\\\" == user" "LEFT") """["user","j.user","j.team"]""")
            Expect.equal out
                ("""[{"segmentId":"edits1","columns":["user","j.user","j.team"],"events":[["ann","ann","red"],["ann","ann","green"],["bob","bob","blue"],[null,null,null]]},"""
                 + """{"segmentId":"edits2","columns":["user","j.user","j.team"],"events":[["ann","ann","red"],["ann","ann","green"],["cy",null,null]]}]""")
                "left join rows"
        }
        test "right join adds the unmatched right rows once" {
            let right = """{"type":"inline","columnNames":["user","team"],"rows":[["bob","blue"],["dan","grey"]]}"""
            let out =
                run (sprintf """{"queryType":"timeseries","dataSource":%s,"intervals":"1970/2021","granularity":"all",
                        "aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"added","fieldName":"added"}]}"""
                        (join right "user == \\\"j.user\\\"" "RIGHT"))
            Expect.equal out """[{"timestamp":"1970-01-01T00:00:00.000Z","result":{"rows":2,"added":2}}]""" "bob's row plus dan's right-only row"
        }
        test "the query intervals bound the left side; __time comes from the left" {
            let out =
                run """{"queryType":"scan","dataSource":{"type":"join","left":"edits","right":{"type":"inline","columnNames":["user","team"],"rows":[["ann","red"]]},
                        "rightPrefix":"j.","condition":"user == \"j.user\"","joinType":"INNER"},"intervals":"2020-01-02/2020-01-03","columns":["__time","j.team"],"resultFormat":"compactedList"}"""
            Expect.equal out """[{"segmentId":"edits2","columns":["__time","j.team"],"events":[[1577926800000,"red"]]}]""" "only the ann row of the second day"
        }
        test "join to a groupBy subquery" {
            let totals =
                """{"type":"query","query":{"queryType":"groupBy","dataSource":"edits","intervals":"2020/2021","granularity":"all",
                    "dimensions":["user"],"aggregations":[{"type":"longSum","name":"total","fieldName":"added"}]}}"""
            let out = run (scan (join totals "user == \\\"j.user\\\"" "INNER") """["user","added","j.total"]""")
            Expect.equal out
                ("""[{"segmentId":"edits1","columns":["user","added","j.total"],"events":[["ann",1,5],["bob",2,2]]},"""
                 + """{"segmentId":"edits2","columns":["user","added","j.total"],"events":[["ann",4,5],["cy",5,5]]}]""")
                "each user's total"
        }
        test "topN over a left join to inline, as in the stream conformance query" {
            let out =
                run """{"queryType":"topN","dataSource":{"type":"join","left":"edits",
                        "right":{"type":"inline","columnNames":["user","lookupUser"],"columnTypes":["string","string"],"rows":[["ann","inline join!"]]},
                        "rightPrefix":"j.","condition":"user == \"j.user\"","joinType":"LEFT"},
                       "intervals":["2020/2021"],"granularity":"all",
                       "virtualColumns":[{"type":"expression","name":"who","expression":"nvl(\"j.lookupUser\", \"user\")","outputType":"string"}],
                       "aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"added","fieldName":"added"}],"dimension":"who","metric":"rows","threshold":1}"""
            Expect.equal out """[{"timestamp":"2020-01-01T01:00:00.000Z","result":[{"who":"inline join!","rows":2,"added":5}]}]""" "topN rows"
        }
        test "multi-key condition and a left-side expression" {
            let right = """{"type":"inline","columnNames":["u","a"],"columnTypes":["string","long"],"rows":[["ANN",1],["ANN",4],["BOB",3]]}"""
            let out = run (scan (join right "upper(user) == \\\"j.u\\\" && \\\"j.a\\\" == added" "INNER") """["user","added"]""")
            Expect.equal out
                ("""[{"segmentId":"edits1","columns":["user","added"],"events":[["ann",1]]},"""
                 + """{"segmentId":"edits2","columns":["user","added"],"events":[["ann",4]]}]""")
                "both keys must match"
        }
        test "a constant true condition is a cross join" {
            let right = """{"type":"inline","columnNames":["x"],"rows":[["p"],["q"]]}"""
            let out = run (sprintf """{"queryType":"timeseries","dataSource":%s,"intervals":"2020/2021","granularity":"all","aggregations":[{"type":"count","name":"rows"}]}""" (join right "1" "INNER"))
            Expect.equal out """[{"timestamp":"2020-01-01T01:00:00.000Z","result":{"rows":10}}]""" "5 x 2 rows"
        }
        test "a table on the right (several segments) joins as a whole: a self-join" {
            let out =
                run (sprintf """{"queryType":"timeseries","dataSource":%s,"intervals":"2020-01-02/2021","granularity":"all",
                        "aggregations":[{"type":"count","name":"rows"},{"type":"longSum","name":"rightAdded","fieldName":"j.added"}]}"""
                        ("\"edits\"" |> fun right -> join right "user == \\\"j.user\\\"" "INNER"))
            // Left rows of the second day only (ann, cy); ann meets both ann rows (1 + 4), cy itself (5).
            Expect.equal out """[{"timestamp":"2020-01-02T01:00:00.000Z","result":{"rows":3,"rightAdded":10}}]""" "self-join"
        }
        test "a join planned with a non-equi condition fails at run time with Druid's text" {
            let q = parsed (scan (join teams "user == \\\"j.user\\\"" "INNER") "[]")
            let condition = match Expr.parse "user != \"j.user\"" with Ok e -> e | Error e -> failtest e
            let planned = { q with DataSource = Query.DataSource.Join(Query.DataSource.Table "edits", Query.DataSource.Table "edits", "j.", condition, Query.JoinType.Inner) }
            let problem =
                try QueryExecution.execute sequential slicesOf planned |> ignore; ""
                with QueryExecution.UnsupportedQuery message -> message
            Expect.equal problem "Cannot build hash-join matcher on non-equi-join condition: (\"user\" != \"j.user\")" "error text"
        }
        test "non-equi conditions, lookups and bad join types are rejected" {
            let path, problem = parseError (scan (join teams "user != \\\"j.user\\\"" "INNER") "[]")
            Expect.equal path "dataSource.condition" "path"
            Expect.equal problem "Cannot build hash-join matcher on non-equi-join condition: user != \"j.user\"" "Druid's text"
            let _, problem = parseError (scan (join teams "\\\"j.user\\\" == \\\"j.team\\\"" "INNER") "[]")
            Expect.stringContains problem "non-equi-join" "right == right"
            let path, problem = parseError (scan (join """{"type":"lookup","lookup":"countries"}""" "user == \\\"j.k\\\"" "LEFT") "[]")
            Expect.equal path "dataSource.right.type" "lookup path"
            Expect.stringContains problem "not supported yet" "lookup"
            let path, _ = parseError (scan (join teams "user == \\\"j.user\\\"" "SIDEWAYS") "[]")
            Expect.equal path "dataSource.joinType" "join type path"
            let path, _ = parseError (scan (join teams "user == \\\"j.user\\\"" "INNER" |> fun s -> s.Replace("\"j.\"", "\"__\"")) "[]")
            Expect.equal path "dataSource.rightPrefix" "prefix of __time"
        }
    ]
