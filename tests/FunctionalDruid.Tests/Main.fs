module FunctionalDruid.Tests.Main

open Expecto
open Expecto.Impl

/// Runs every [<Tests>] value in this assembly. Expecto's own summary stays, and the run
/// closes with the plain line `N passed, M failed` that CI reads.
[<EntryPoint>]
let main argv =
    let tests = testFromThisAssembly () |> Option.defaultValue (TestList([], Normal))
    let mutable counts = None
    let printer =
        { defaultConfig.printer with
              summary =
                  fun cfg summary ->
                      async {
                          do! defaultConfig.printer.summary cfg summary
                          counts <- Some(summary.passed.Length, summary.failed.Length + summary.errored.Length, summary.ignored.Length)
                      } }
    let code = runTestsWithCLIArgs [ CLIArguments.Printer printer; CLIArguments.No_Spinner; CLIArguments.Colours 0 ] argv tests
    // Expecto's console writer pads lines; the closing line goes straight to stdout.
    System.Console.Out.Flush()
    let closeWith (line: string) =
        use stdout = System.Console.OpenStandardOutput()
        let bytes = System.Text.Encoding.UTF8.GetBytes("\n" + line + "\n")
        stdout.Write(bytes, 0, bytes.Length)
    match counts with
    | Some(passed, failed, skipped) ->
        closeWith (if skipped > 0 then sprintf "%d passed, %d failed, %d skipped" passed failed skipped
                   else sprintf "%d passed, %d failed" passed failed)
        if failed > 0 then 1 else code
    | None ->
        closeWith "0 passed, 1 failed"
        1
