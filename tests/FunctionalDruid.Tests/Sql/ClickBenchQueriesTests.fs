module FunctionalDruid.Tests.Sql.ClickBenchQueriesTests

// The 43 ClickBench queries of bench/ClickBench/queries.sql over a small generated hits table
// (one segment per day of July 2013), through the SQL engine as the server runs it, each
// checked against a naive oracle over the same rows.

open System
open System.IO
open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Sql

type Hit =
    { Time: int64; WatchID: int64; Title: string; EventDate: string; CounterID: int64; ClientIP: int64
      RegionID: int64; UserID: int64; URL: string; Referer: string; IsRefresh: int64; ResolutionWidth: int64
      MobilePhone: int64; MobilePhoneModel: string; TraficSourceID: int64; SearchEngineID: int64
      SearchPhrase: string; AdvEngineID: int64; WindowClientWidth: int64; WindowClientHeight: int64
      IsLink: int64; IsDownload: int64; DontCountHits: int64; RefererHash: int64; URLHash: int64 }

let private july = DateTimeOffset(2013, 7, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()
let private day = 86_400_000L
let private lookedUpUser = 435090932899640449L

let private hits: Hit[] =
    let random = Random(7)
    let pick (values: 'a[]) = values.[min (values.Length - 1) (int (Math.Pow(float (values.Length + 1), random.NextDouble())) - 1)]
    let hosts = [| "www.google.ru"; "news.example.com"; "shop.example.org"; "maps.google.com"; "video.example.net" |]
    let words = [| "news"; "sport"; "video"; "games"; "weather"; "music"; "auto"; "mail"; "film" |]
    let urls = Array.init 60 (fun i -> sprintf "http://%s/%s/%d.html" hosts.[i % hosts.Length] words.[i % words.Length] i)
    let referers = Array.init 30 (fun i -> sprintf "https://%s/%s?q=%d" hosts.[(i * 3) % hosts.Length] words.[(i * 2) % words.Length] i)
    let titles = Array.init 40 (fun i -> sprintf "%s page %d%s" words.[i % words.Length] i (if i % 4 = 0 then " - Google" else ""))
    let phrases = Array.init 25 (fun i -> sprintf "%s %s" words.[i % words.Length] words.[(i * 5 + 1) % words.Length])
    let users = Array.init 120 (fun i -> 1000L + int64 i * 7919L)
    let ips = Array.init 80 (fun i -> int64 (i * 104729 - 3000000))
    let models = [| "iPhone"; "iPad"; "GT-I9300"; "Lumia" |]
    let times = Array.init 3000 (fun i -> july + int64 i * (31L * day / 3000L) + int64 (random.Next(1000))) |> Array.sort
    [| for t in times ->
        let phrase = if random.Next(10) < 3 then pick phrases else ""
        let mobile = if random.Next(10) = 0 then 1L + int64 (random.Next 3) else 0L
        let url = if random.Next(40) = 0 then "" else pick urls
        let referer = if random.Next(3) = 0 then "" else pick referers
        { Time = t; WatchID = random.NextInt64(1L, Int64.MaxValue); Title = (if random.Next(12) = 0 then "" else pick titles)
          EventDate = DateTimeOffset.FromUnixTimeMilliseconds(t).ToString("yyyy-MM-dd")
          CounterID = (if random.Next(10) < 3 then 62L else 100L + int64 (random.Next 20)); ClientIP = pick ips
          RegionID = 1L + int64 (random.Next 15); UserID = (if random.Next(700) = 0 then lookedUpUser else pick users)
          URL = url; Referer = referer; IsRefresh = (if random.Next(10) = 0 then 1L else 0L)
          ResolutionWidth = pick [| 1366L; 1920L; 1280L; 0L; 1024L |]; MobilePhone = mobile
          MobilePhoneModel = (if mobile = 0L then "" else pick models); TraficSourceID = pick [| 0L; 1L; -1L; 6L; 2L |]
          SearchEngineID = (if phrase = "" then 0L else 1L + int64 (random.Next 3)); SearchPhrase = phrase
          AdvEngineID = (if random.Next(20) = 0 then 1L + int64 (random.Next 4) else 0L)
          WindowClientWidth = pick [| 0L; 1200L; 800L |]; WindowClientHeight = pick [| 0L; 700L; 600L |]
          IsLink = (if random.Next(8) = 0 then 1L else 0L); IsDownload = (if random.Next(30) = 0 then 1L else 0L)
          DontCountHits = (if random.Next(25) = 0 then 1L else 0L)
          RefererHash = (if referer = "" then 0L else int64 (referer.GetHashCode()))
          URLHash = (if url = "" then 0L else int64 (url.GetHashCode())) } |]

let private longs (f: Hit -> int64) (rows: Hit[]) = ColumnData.Longs(rows |> Array.map f, None)

let private strings (f: Hit -> string) (rows: Hit[]) =
    let values = rows |> Array.map f
    let dictionary = values |> Array.distinct |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))
    ColumnData.Strings { Dictionary = dictionary; Ids = values |> Array.map (fun v -> Array.BinarySearch(dictionary, v, StringComparer.Ordinal)); MultiIds = None; HasBitmapIndex = true }

let private columns: (string * ColumnType * (Hit[] -> ColumnData)) list =
    let L name f = name, ColumnType.Long, longs f
    let S name f = name, ColumnType.String, strings f
    [ L "WatchID" (fun h -> h.WatchID); S "Title" (fun h -> h.Title); S "EventDate" (fun h -> h.EventDate)
      L "CounterID" (fun h -> h.CounterID); L "ClientIP" (fun h -> h.ClientIP); L "RegionID" (fun h -> h.RegionID)
      L "UserID" (fun h -> h.UserID); S "URL" (fun h -> h.URL); S "Referer" (fun h -> h.Referer)
      L "IsRefresh" (fun h -> h.IsRefresh); L "ResolutionWidth" (fun h -> h.ResolutionWidth); L "MobilePhone" (fun h -> h.MobilePhone)
      S "MobilePhoneModel" (fun h -> h.MobilePhoneModel); L "TraficSourceID" (fun h -> h.TraficSourceID)
      L "SearchEngineID" (fun h -> h.SearchEngineID); S "SearchPhrase" (fun h -> h.SearchPhrase); L "AdvEngineID" (fun h -> h.AdvEngineID)
      L "WindowClientWidth" (fun h -> h.WindowClientWidth); L "WindowClientHeight" (fun h -> h.WindowClientHeight)
      L "IsLink" (fun h -> h.IsLink); L "IsDownload" (fun h -> h.IsDownload); L "DontCountHits" (fun h -> h.DontCountHits)
      L "RefererHash" (fun h -> h.RefererHash); L "URLHash" (fun h -> h.URLHash) ]

let private options: SqlEngine.Options =
    let slices =
        [ for d in 0L .. 30L ->
            let interval: Time.Interval = { Start = july + d * day; End = july + (d + 1L) * day }
            let rows = hits |> Array.filter (fun h -> h.Time >= interval.Start && h.Time < interval.End)
            let content: SegmentContent =
                { Interval = interval; Times = rows |> Array.map (fun h -> h.Time)
                  Dimensions = columns |> List.map (fun (n, _, make) -> n, make rows); Metrics = []; Metadata = "{}" }
            ({ Id = sprintf "hits_%d" d; Content = content; Serves = interval }: Engine.SegmentSlice) ]
    { Catalog = StaticCatalog [ "hits", ("__time", ColumnType.Long) :: (columns |> List.map (fun (n, t, _) -> n, t)) ]
      Run = (fun q -> QueryExecution.execute QuerySlices.sequential (fun _ _ -> slices) q)
      Supports = SqlEngine.defaultSupports
      Now = july + 40L * day
      ReadRows = Some(fun q order -> TableReader.readTop q order slices)
      ReadCounted = Some(fun q -> TableReader.readCounted q slices) }

/// The benchmark's own query file, found from the test binaries upwards.
let private queries: string[] =
    let rec find (dir: DirectoryInfo) =
        let candidate = Path.Combine(dir.FullName, "bench", "ClickBench", "queries.sql")
        if File.Exists candidate then candidate
        else
            match dir.Parent with
            | null -> failwith "bench/ClickBench/queries.sql not found"
            | parent -> find parent
    File.ReadAllLines(find (DirectoryInfo AppContext.BaseDirectory)) |> Array.filter (fun l -> l.Trim() <> "")

let private run (n: int) : Value[] list =
    (SqlEngine.execute options { Sql = queries.[n - 1]; Parameters = [||]; Context = [ "useApproximateCountDistinct", "false" ] }).Rows

// ---- the oracle ------------------------------------------------------------------------------

let private L (x: int64) = Value.Long x
let private D (x: float) = Value.Double x
let private S (x: string) = Value.String x

let private same (a: Value) (b: Value) =
    match a, b with
    | Value.Double x, Value.Double y -> abs (x - y) <= 1e-9 * max 1.0 (max (abs x) (abs y))
    | _ -> a = b

let private sameRow (a: Value[]) (b: Value[]) = a.Length = b.Length && Array.forall2 same a b
let private show (rows: Value[] seq) = rows |> Seq.map (fun r -> sprintf "%A" (List.ofArray r)) |> String.concat "\n"

let private groups (keep: Hit -> bool) (key: Hit -> 'k) (row: 'k -> Hit[] -> Value[]) : Value[][] =
    hits |> Array.filter keep |> Array.groupBy key |> Array.map (fun (k, hs) -> row k hs)

let private count (hs: Hit[]) = L(int64 hs.Length)
let private distinct (f: Hit -> 'a) (hs: Hit[]) = L(hs |> Array.map f |> Array.distinct |> Array.length |> int64)
let private avg (f: Hit -> int64) (hs: Hit[]) = D(hs |> Array.averageBy (fun h -> float (f h)))
let private sum (f: Hit -> int64) (hs: Hit[]) = L(hs |> Array.sumBy f)
let private minString (f: Hit -> string) (hs: Hit[]) = S(hs |> Array.map f |> Array.reduce (fun a b -> if String.CompareOrdinal(a, b) <= 0 then a else b))
let private has (part: string) (s: string) = s.Contains(part, StringComparison.Ordinal)
let private minute (h: Hit) = h.Time / 60_000L % 60L

let private expectRows (n: int) (expected: Value[] seq) =
    let actual = run n
    let expected = List.ofSeq expected
    if actual.Length <> expected.Length || not (List.forall2 sameRow actual expected) then
        failtestf "Q%d: %s\nexpected\n%s\nactual\n%s" n queries.[n - 1] (show expected) (show actual)

let private numeric (v: Value) = match v with Value.Long l -> float l | Value.Double d -> d | _ -> nan

/// ORDER BY column `key` DESC with OFFSET/LIMIT: the keys must be the oracle's top ones in order
/// (ties may keep any of their rows), and every row one of the oracle's groups.
let private expectTop (n: int) (all: Value[][]) (key: int) (offset: int) (limit: int) =
    let actual = run n
    let expectedKeys = all |> Array.map (fun r -> r.[key]) |> Array.sortByDescending numeric |> Array.skip (min offset all.Length) |> Array.truncate limit
    let actualKeys = actual |> List.map (fun r -> r.[key]) |> Array.ofList
    if actualKeys.Length <> expectedKeys.Length || not (Array.forall2 same actualKeys expectedKeys) then
        failtestf "Q%d: keys %A, expected %A" n actualKeys expectedKeys
    for row in actual do
        if not (all |> Array.exists (sameRow row)) then failtestf "Q%d: row %A is no group of the oracle" n (List.ofArray row)

let private fullRow (h: Hit) =
    [| L h.Time; L h.WatchID; S h.Title; S h.EventDate; L h.CounterID; L h.ClientIP; L h.RegionID; L h.UserID; S h.URL
       S h.Referer; L h.IsRefresh; L h.ResolutionWidth; L h.MobilePhone; S h.MobilePhoneModel; L h.TraficSourceID
       L h.SearchEngineID; S h.SearchPhrase; L h.AdvEngineID; L h.WindowClientWidth; L h.WindowClientHeight; L h.IsLink
       L h.IsDownload; L h.DontCountHits; L h.RefererHash; L h.URLHash |]

let private counter62 (h: Hit) = h.CounterID = 62L && h.EventDate >= "2013-07-01" && h.EventDate <= "2013-07-31"
let private all (_: Hit) = true
let private withPhrase (h: Hit) = h.SearchPhrase <> ""

let private checks: (int * (unit -> unit)) list =
    [ 1, (fun () -> expectRows 1 [ [| count hits |] ])
      2, (fun () -> expectRows 2 [ [| count (hits |> Array.filter (fun h -> h.AdvEngineID <> 0L)) |] ])
      3, (fun () -> expectRows 3 [ [| sum (fun h -> h.AdvEngineID) hits; count hits; avg (fun h -> h.ResolutionWidth) hits |] ])
      4, (fun () -> expectRows 4 [ [| avg (fun h -> h.UserID) hits |] ])
      5, (fun () -> expectRows 5 [ [| distinct (fun h -> h.UserID) hits |] ])
      6, (fun () -> expectRows 6 [ [| distinct (fun h -> h.SearchPhrase) hits |] ])
      7, (fun () -> expectRows 7 [ [| S(hits |> Array.map (fun h -> h.EventDate) |> Array.min); S(hits |> Array.map (fun h -> h.EventDate) |> Array.max) |] ])
      8, (fun () -> expectTop 8 (groups (fun h -> h.AdvEngineID <> 0L) (fun h -> h.AdvEngineID) (fun k hs -> [| L k; count hs |])) 1 0 100)
      9, (fun () -> expectTop 9 (groups all (fun h -> h.RegionID) (fun k hs -> [| L k; distinct (fun h -> h.UserID) hs |])) 1 0 10)
      10, (fun () ->
              expectTop 10 (groups all (fun h -> h.RegionID) (fun k hs ->
                  [| L k; sum (fun h -> h.AdvEngineID) hs; count hs; avg (fun h -> h.ResolutionWidth) hs; distinct (fun h -> h.UserID) hs |])) 2 0 10)
      11, (fun () -> expectTop 11 (groups (fun h -> h.MobilePhoneModel <> "") (fun h -> h.MobilePhoneModel) (fun k hs -> [| S k; distinct (fun h -> h.UserID) hs |])) 1 0 10)
      12, (fun () ->
              expectTop 12 (groups (fun h -> h.MobilePhoneModel <> "") (fun h -> h.MobilePhone, h.MobilePhoneModel) (fun (p, m) hs ->
                  [| L p; S m; distinct (fun h -> h.UserID) hs |])) 2 0 10)
      13, (fun () -> expectTop 13 (groups withPhrase (fun h -> h.SearchPhrase) (fun k hs -> [| S k; count hs |])) 1 0 10)
      14, (fun () -> expectTop 14 (groups withPhrase (fun h -> h.SearchPhrase) (fun k hs -> [| S k; distinct (fun h -> h.UserID) hs |])) 1 0 10)
      15, (fun () -> expectTop 15 (groups withPhrase (fun h -> h.SearchEngineID, h.SearchPhrase) (fun (e, p) hs -> [| L e; S p; count hs |])) 2 0 10)
      16, (fun () -> expectTop 16 (groups all (fun h -> h.UserID) (fun k hs -> [| L k; count hs |])) 1 0 10)
      17, (fun () -> expectTop 17 (groups all (fun h -> h.UserID, h.SearchPhrase) (fun (u, p) hs -> [| L u; S p; count hs |])) 2 0 10)
      18, (fun () ->
              // No ORDER BY: any ten groups, each with its right count.
              let oracle = groups all (fun h -> h.UserID, h.SearchPhrase) (fun (u, p) hs -> [| L u; S p; count hs |])
              let actual = run 18
              Expect.equal actual.Length 10 "ten groups"
              for row in actual do Expect.isTrue (oracle |> Array.exists (sameRow row)) (sprintf "Q18 row %A" row))
      19, (fun () ->
              expectTop 19 (groups all (fun h -> h.UserID, minute h, h.SearchPhrase) (fun (u, m, p) hs -> [| L u; L m; S p; count hs |])) 3 0 10)
      20, (fun () -> expectRows 20 (hits |> Array.filter (fun h -> h.UserID = lookedUpUser) |> Array.map (fun _ -> [| L lookedUpUser |])))
      21, (fun () -> expectRows 21 [ [| count (hits |> Array.filter (fun h -> has "google" h.URL)) |] ])
      22, (fun () ->
              expectTop 22 (groups (fun h -> has "google" h.URL && withPhrase h) (fun h -> h.SearchPhrase) (fun k hs ->
                  [| S k; minString (fun h -> h.URL) hs; count hs |])) 2 0 10)
      23, (fun () ->
              expectTop 23 (groups (fun h -> has "Google" h.Title && not (has ".google." h.URL) && withPhrase h) (fun h -> h.SearchPhrase) (fun k hs ->
                  [| S k; minString (fun h -> h.URL) hs; minString (fun h -> h.Title) hs; count hs; distinct (fun h -> h.UserID) hs |])) 3 0 10)
      24, (fun () -> expectRows 24 (hits |> Array.filter (fun h -> has "google" h.URL) |> Array.sortBy (fun h -> h.Time) |> Array.truncate 10 |> Array.map fullRow))
      25, (fun () -> expectRows 25 (hits |> Array.filter withPhrase |> Array.sortBy (fun h -> h.Time) |> Array.truncate 10 |> Array.map (fun h -> [| S h.SearchPhrase |])))
      26, (fun () ->
              expectRows 26 (hits |> Array.filter withPhrase |> Array.map (fun h -> h.SearchPhrase) |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))
                             |> Array.truncate 10 |> Array.map (fun p -> [| S p |])))
      27, (fun () -> expectRows 27 (hits |> Array.filter withPhrase |> Array.sortBy (fun h -> h.Time) |> Array.truncate 10 |> Array.map (fun h -> [| S h.SearchPhrase |])))
      // HAVING COUNT(*) > 100000 keeps no group of a few thousand rows.
      28, (fun () -> expectRows 28 [])
      29, (fun () -> expectRows 29 [])
      30, (fun () ->
              let width = hits |> Array.sumBy (fun h -> h.ResolutionWidth)
              expectRows 30 [ Array.init 90 (fun k -> L(width + int64 k * int64 hits.Length)) ])
      31, (fun () ->
              expectTop 31 (groups withPhrase (fun h -> h.SearchEngineID, h.ClientIP) (fun (e, ip) hs ->
                  [| L e; L ip; count hs; sum (fun h -> h.IsRefresh) hs; avg (fun h -> h.ResolutionWidth) hs |])) 2 0 10)
      32, (fun () ->
              expectTop 32 (groups withPhrase (fun h -> h.WatchID, h.ClientIP) (fun (w, ip) hs ->
                  [| L w; L ip; count hs; sum (fun h -> h.IsRefresh) hs; avg (fun h -> h.ResolutionWidth) hs |])) 2 0 10)
      33, (fun () ->
              expectTop 33 (groups all (fun h -> h.WatchID, h.ClientIP) (fun (w, ip) hs ->
                  [| L w; L ip; count hs; sum (fun h -> h.IsRefresh) hs; avg (fun h -> h.ResolutionWidth) hs |])) 2 0 10)
      34, (fun () -> expectTop 34 (groups all (fun h -> h.URL) (fun k hs -> [| S k; count hs |])) 1 0 10)
      35, (fun () -> expectTop 35 (groups all (fun h -> h.URL) (fun k hs -> [| L 1L; S k; count hs |])) 2 0 10)
      36, (fun () -> expectTop 36 (groups all (fun h -> h.ClientIP) (fun ip hs -> [| L ip; L(ip - 1L); L(ip - 2L); L(ip - 3L); count hs |])) 4 0 10)
      37, (fun () ->
              expectTop 37 (groups (fun h -> counter62 h && h.DontCountHits = 0L && h.IsRefresh = 0L && h.URL <> "") (fun h -> h.URL) (fun k hs ->
                  [| S k; count hs |])) 1 0 10)
      38, (fun () ->
              expectTop 38 (groups (fun h -> counter62 h && h.DontCountHits = 0L && h.IsRefresh = 0L && h.Title <> "") (fun h -> h.Title) (fun k hs ->
                  [| S k; count hs |])) 1 0 10)
      39, (fun () ->
              expectTop 39 (groups (fun h -> counter62 h && h.IsRefresh = 0L && h.IsLink <> 0L && h.IsDownload = 0L) (fun h -> h.URL) (fun k hs ->
                  [| S k; count hs |])) 1 1000 10)
      40, (fun () ->
              let src (h: Hit) = if h.SearchEngineID = 0L && h.AdvEngineID = 0L then h.Referer else ""
              expectTop 40 (groups (fun h -> counter62 h && h.IsRefresh = 0L) (fun h -> h.TraficSourceID, h.SearchEngineID, h.AdvEngineID, src h, h.URL)
                                (fun (t, e, a, s, u) hs -> [| L t; L e; L a; S s; S u; count hs |])) 5 1000 10)
      41, (fun () -> expectRows 41 [])
      42, (fun () -> expectRows 42 [])
      43, (fun () ->
              let oracle =
                  groups (fun h -> h.CounterID = 62L && h.EventDate >= "2013-07-14" && h.EventDate <= "2013-07-15" && h.IsRefresh = 0L && h.DontCountHits = 0L)
                         (fun h -> h.Time - h.Time % 60_000L) (fun m hs -> [| L m; count hs |])
              expectRows 43 (oracle |> Array.sortBy (fun r -> numeric r.[0]) |> Array.skip (min 1000 oracle.Length) |> Array.truncate 10)) ]

[<Tests>]
let tests =
    testList "sql/clickbench" [
        yield test "the benchmark has the 43 queries" { Expect.equal queries.Length 43 "queries.sql lines" }
        yield test "the fixture has rows the filtered queries find" {
            Expect.isGreaterThan (hits |> Array.filter (fun h -> has "google" h.URL && withPhrase h) |> Array.length) 10 "google URLs with a phrase"
            Expect.isGreaterThan (hits |> Array.filter (fun h -> h.UserID = lookedUpUser) |> Array.length) 0 "the looked-up user"
            Expect.isGreaterThan (hits |> Array.filter counter62 |> Array.length) 500 "counter 62" }
        for (n, check) in checks do yield test (sprintf "Q%02d plans, answers and agrees with the oracle" n) { check () }
    ]
