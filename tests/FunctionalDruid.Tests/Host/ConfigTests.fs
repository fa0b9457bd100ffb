module FunctionalDruid.Tests.Host.ConfigTests

open System.IO
open Expecto
open FunctionalDruid.Host.Config

let private noEnv = dict [] :> System.Collections.Generic.IDictionary<string, string>

[<Tests>]
let tests =
    testList "ServerConfig" [
        test "defaults" {
            let c = ServerConfig.FromArgs([||], noEnv)
            Expect.equal c.Port 8888 "port"
            Expect.equal c.DataDir (Path.GetFullPath "var") "data dir"
            Expect.equal c.MetadataType "sqlite" "metadata"
            Expect.equal c.StorageDirectory (Path.GetFullPath "var/druid/segments") "deep storage"
        }
        test "shortcuts, flags, environment and properties file, later wins" {
            let dir = FunctionalDruid.Tests.TestData.tempDir "config"
            let file = Path.Combine(dir, "runtime.properties")
            File.WriteAllText(file, "# comment\ndruid.plaintextPort=9000\ndruid.storage.storageDirectory = /tmp/deep\ndruid.segmentCache.locations=[{\"path\":\"/tmp/cache\",\"maxSize\":\"1g\"}]\n")
            let env = dict [ "druid_plaintextPort", "9100"; "druid_metadata_storage_type", "sqlite" ]
            let c = ServerConfig.FromArgs([| "--config"; file; "--data-dir"; dir; "--druid.host=localhost" |], env)
            Expect.equal c.Port 9100 "env beats file"
            Expect.equal c.StorageDirectory "/tmp/deep" "file"
            Expect.equal c.SegmentCacheDirectory "/tmp/cache" "cache path from Druid's JSON form"
            Expect.equal c.Host "localhost" "flag"
            Expect.equal c.DataDir dir "shortcut"
            let c2 = ServerConfig.FromArgs([| "--config"; file; "--port"; "9200" |], env)
            Expect.equal c2.Port 9200 "flag beats env"
        }
        test "bad settings say what is wrong" {
            let err (args: string[]) =
                try ServerConfig.FromArgs(args, noEnv) |> ignore; "" with :? ConfigException as e -> e.Message
            Expect.equal (err [| "--port"; "abc" |]) "Property druid.plaintextPort must be a whole number, got \"abc\"" "port"
            Expect.equal (err [| "--druid.metadata.storage.type=mysql" |]) "druid.metadata.storage.type must be sqlite or postgresql, got \"mysql\"" "type"
            Expect.equal (err [| "--druid.metadata.storage.type=postgresql" |]) "druid.metadata.storage.type=postgresql needs druid.metadata.storage.connector.connectURI" "pg uri"
            Expect.equal (err [| "stray" |]) "Unexpected argument \"stray\": use --name=value, --port N, --data-dir PATH or --config FILE" "stray"
        }
    ]
