/// Where the shared conformance corpus and seeds live, found from the test binary upwards.
module FunctionalDruid.Tests.TestData

open System.IO

let private findUp (relative: string) =
    let rec go (dir: DirectoryInfo) =
        if isNull dir then None
        else
            let candidate = Path.Combine(dir.FullName, relative)
            if Directory.Exists candidate || File.Exists candidate then Some candidate else go dir.Parent
    go (DirectoryInfo(System.AppContext.BaseDirectory))

/// The repository root (the folder holding FunctionalDruid.sln).
let repoRoot =
    match findUp "FunctionalDruid.sln" with
    | Some f -> Path.GetDirectoryName f
    | None -> failwith "FunctionalDruid.sln not found above the test binary"

/// `../shared` beside the repository (CI clones main with shared/ beside it).
let sharedDir =
    match findUp "shared/conformance" with
    | Some d -> Path.GetDirectoryName d
    | None -> Path.Combine(repoRoot, "..", "shared")

let conformanceDir = Path.Combine(sharedDir, "conformance")
let seedsDir = Path.Combine(sharedDir, "seeds")

/// A fresh empty temporary folder.
let tempDir (prefix: string) =
    let d = Path.Combine(Path.GetTempPath(), sprintf "fdruid-%s-%s" prefix (System.Guid.NewGuid().ToString("N").Substring(0, 8)))
    Directory.CreateDirectory d |> ignore
    d
