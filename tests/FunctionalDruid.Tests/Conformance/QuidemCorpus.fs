/// The quidem corpus on disk: manifest, parsed files, and the ingestion specs of the tables each
/// `!use` makes available (classic tables plus the `datasets=` folders), with local input paths
/// made absolute.
module FunctionalDruid.Tests.Conformance.QuidemCorpus

open System
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open FunctionalDruid.Tests
open FunctionalDruid.Tests.Conformance.QuidemFile

let corpusDir = Path.Combine(TestData.conformanceDir, "quidem")

type ManifestEntry =
    { File: string
      Positive: int
      Negative: int
      /// `!use` and plan directive counts (`!set` lines are counted in SetLines).
      OtherDirectives: Map<string, int>
      SetLines: int }

type Manifest =
    { Entries: ManifestEntry list
      TotalPositive: int
      TotalNegative: int }

let readManifest () : Manifest =
    use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(corpusDir, "manifest.json")))
    let root = doc.RootElement
    let counts (e: JsonElement) = [ for p in e.EnumerateObject() -> p.Name, p.Value.GetInt32() ]
    { Entries =
        [ for f in root.GetProperty("files").EnumerateArray() ->
            { File = f.GetProperty("file").GetString()
              Positive = f.GetProperty("positive").GetInt32()
              Negative = f.GetProperty("negative").GetInt32()
              OtherDirectives = counts (f.GetProperty "other_directives") |> Map.ofList
              SetLines = counts (f.GetProperty "set_values") |> List.sumBy snd } ]
      TotalPositive = root.GetProperty("totals").GetProperty("positive").GetInt32()
      TotalNegative = root.GetProperty("totals").GetProperty("negative").GetInt32() }

/// Parses every file the manifest lists, in manifest order.
let parseAll (manifest: Manifest) : ParsedFile list =
    manifest.Entries |> List.map (fun e -> parse e.File (File.ReadAllText(Path.Combine(corpusDir, e.File))))

/// A short name for reports: the path after `org.apache.druid.quidem.`.
let shortName (file: string) =
    match file.IndexOf "org.apache.druid.quidem." with
    | -1 -> file
    | i -> file.Substring(i + "org.apache.druid.quidem.".Length)

/// One table to ingest: its name and the task JSON to submit (or why it cannot be built).
type TableSpec = { Table: string; Source: string; Spec: Result<string, string> }

/// Rewrites relative `local` input paths: first against the corpus folder (the classic specs'
/// convention), then against the spec's own folder (verbatim Druid specs); drops the
/// `x-conformance-notes` field Druid would reject.
let private prepareSpec (specPath: string) : string * Result<string, string> =
    let node = JsonNode.Parse(File.ReadAllText specPath).AsObject()
    node.Remove "x-conformance-notes" |> ignore
    let table = node.["spec"].["dataSchema"].["dataSource"].GetValue<string>()
    let resolve (relative: string) =
        if Path.IsPathRooted relative then Ok relative
        else
            [ Path.Combine(corpusDir, relative); Path.Combine(Path.GetDirectoryName specPath, relative) ]
            |> List.map Path.GetFullPath
            |> List.tryFind (fun p -> Directory.Exists p || File.Exists p)
            |> Option.map Ok
            |> Option.defaultValue (Error(sprintf "local input %s not found beside the corpus or the spec" relative))
    let source = node.["spec"].["ioConfig"].["inputSource"]
    let rewritten =
        match source with
        | null -> Ok()
        | s when (s.["type"] |> Option.ofObj |> Option.map (fun t -> t.GetValue<string>())) = Some "local" ->
            let baseDir =
                match s.["baseDir"] with
                | null -> Ok()
                | b -> resolve (b.GetValue<string>()) |> Result.map (fun full -> s.["baseDir"] <- JsonValue.Create full)
            let files =
                match s.["files"] with
                | null -> Ok()
                | f ->
                    let resolved = [ for x in f.AsArray() -> resolve (x.GetValue<string>()) ]
                    match resolved |> List.tryPick (function Error e -> Some e | Ok _ -> None) with
                    | Some e -> Error e
                    | None -> Ok(s.["files"] <- JsonArray([| for r in resolved -> JsonValue.Create(Result.defaultValue "" r) :> JsonNode |]))
            Result.bind (fun () -> files) baseDir
        | _ -> Ok()
    table, rewritten |> Result.map (fun () -> node.ToJsonString())

let private specsIn (folder: string) (pick: string -> bool) =
    if not (Directory.Exists folder) then []
    else
        Directory.GetFiles(folder, "*.json") |> Array.sort |> Array.filter pick
        |> Array.map (fun path ->
            let source = Path.GetRelativePath(corpusDir, path)
            try
                let table, spec = prepareSpec path
                { Table = table; Source = source; Spec = spec }
            with e -> { Table = Path.GetFileNameWithoutExtension path; Source = source; Spec = Error(sprintf "unreadable spec: %s" e.Message) })
        |> List.ofArray

/// The classic tables (`datasets/<name>/spec.json`), present on every connection.
let classicTables () : TableSpec list =
    Directory.GetDirectories(Path.Combine(corpusDir, "datasets")) |> Array.sort
    |> List.ofArray
    |> List.collect (fun d -> specsIn d (fun p -> Path.GetFileName p = "spec.json"))

/// The tables of a `datasets=` folder (a repository path under sql/src/test/quidem/), or None
/// when the corpus does not hold that folder.
let folderTables (repositoryPath: string) : TableSpec list option =
    let prefix = "sql/src/test/quidem/"
    let relative = if repositoryPath.StartsWith prefix then repositoryPath.Substring prefix.Length else repositoryPath
    let folder = Path.Combine(corpusDir, "datasets", relative)
    match specsIn folder (fun _ -> true) with
    | [] -> None
    | specs -> Some specs
