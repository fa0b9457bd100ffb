module FunctionalDruid.Tests.Core.JsonTests

open Expecto
open FunctionalDruid.Core

[<Tests>]
let tests =
    testList "Json" [
        test "comments and trailing commas are accepted" {
            let r = Json.run """{ "a": 1, // one
                                   /* two */ "b": [1,2,], }""" (fun n -> Json.asInt (Json.field n "a"), Json.elements (Json.field n "b") |> List.map Json.asInt)
            Expect.equal r (Ok(1, [ 1; 2 ])) "parsed"
        }
        test "a single-line body (curl -d @file strips line breaks) keeps working with // comments" {
            let spec = "{ \"ioConfig\": { \"topic\": \"adtest\",    \"taskDuration\": \"PT10M\", // 10分钟生成一个segment    \"completionTimeout\": \"PT20M\",   // 任务超时 抛弃任务    \"consumerProperties\": { \"bootstrap.servers\": \"a:9092\" } } }"
            let r = Json.run spec (fun n -> let io = Json.field n "ioConfig" in Json.requiredString io "taskDuration", Json.requiredString io "completionTimeout", Json.requiredString (Json.field io "consumerProperties") "bootstrap.servers")
            Expect.equal r (Ok("PT10M", "PT20M", "a:9092")) "comments end at the next quoted key"
            Expect.equal (Json.normalizeComments "{\"url\":\"http://x//y\"}") "{\"url\":\"http://x//y\"}" "slashes inside strings are data"
        }
        test "missing field names its path" {
            let r = Json.run """{"spec":{"dataSchema":{}}}""" (fun n -> Json.requiredString (Json.field (Json.field n "spec") "dataSchema") "dataSource")
            Expect.equal r (Error("spec.dataSchema.dataSource", "is required but missing")) "error"
        }
        test "quoted booleans and numbers are coerced" {
            let r = Json.run """{"a":"false","b":"0","c":"12","d":"TRUE"}""" (fun n ->
                        Json.asBool (Json.field n "a"), Json.asInt (Json.field n "b"), Json.asInt (Json.field n "c"), Json.asBool (Json.field n "d"))
            Expect.equal r (Ok(false, 0, 12, true)) "coerced"
        }
        test "wrong type names the path and what was found" {
            let r = Json.run """{"xs":[1,{"a":true}]}""" (fun n -> Json.elements (Json.field n "xs") |> List.map (fun e -> Json.asInt e))
            Expect.equal r (Error("xs[1]", "expected a whole number but found an object")) "error"
        }
        test "malformed json reports line and column" {
            match Json.run "{\n \"a\": }" (fun n -> n) with
            | Error("", msg) -> Expect.stringStarts msg "Malformed JSON at line 2, column 7" "message"
            | other -> failtestf "unexpected %A" other
        }
        test "java double strings" {
            let cases = [ 1.0, "1.0"; 0.5, "0.5"; 1e7, "1.0E7"; 123456.789, "123456.789"; 0.0001, "1.0E-4"; -2.5e-5, "-2.5E-5"; 12345678.9, "1.23456789E7"; 100.0, "100.0"; 0.001, "0.001"; 9999999.0, "9999999.0"; 1.5e300, "1.5E300" ]
            for d, s in cases do Expect.equal (Value.javaDoubleString d) s (string d)
        }
    ]
