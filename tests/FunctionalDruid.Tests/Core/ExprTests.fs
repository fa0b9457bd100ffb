module FunctionalDruid.Tests.Core.ExprTests

open Expecto
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax
open NodaTime

let private row (pairs: (string * Value) list) : string -> Value =
    let m = Map.ofList pairs
    fun c -> defaultArg (m.TryFind c) Value.Null

let private sample =
    row [ "a", Value.Long 7L
          "b", Value.Long 2L
          "d", Value.Double 2.5
          "s", Value.String "Hello"
          "n", Value.String "12"
          "t", Value.String "true"
          "mv", Value.Array [| Value.String "x"; Value.String "y" |]
          "__time", Value.Long 1377910953123L ] // 2013-08-31T01:02:33.123Z

let private evalText (r: string -> Value) (text: string) : Value =
    match Expr.parse text with
    | Ok e -> Expr.eval r e
    | Error err -> failtestf "%s did not parse: %s" text err

let private parsed text =
    match Expr.parse text with
    | Ok e -> e
    | Error err -> failtestf "%s did not parse: %s" text err

let private lit v = Expr.Literal v
let private long (v: int64) = lit (Value.Long v)
let private id name = Expr.Identifier name

let private check (cases: (string * Value) list) =
    for text, expected in cases do
        Expect.equal (evalText sample text) expected text

[<Tests>]
let tests =
    testList "Expr" [
        test "precedence and associativity follow Druid's grammar" {
            Expect.equal (parsed "1 + 2 * 3") (Expr.Binary(Add, long 1L, Expr.Binary(Multiply, long 2L, long 3L))) "mul binds tighter"
            Expect.equal (parsed "2 ^ 3 ^ 2") (Expr.Binary(Power, long 2L, Expr.Binary(Power, long 3L, long 2L))) "power is right-assoc"
            Expect.equal (parsed "-2 ^ 2") (Expr.Binary(Power, long -2L, long 2L)) "unary minus binds tighter than ^"
            Expect.equal (parsed "a || b && c") (Expr.Binary(And, Expr.Binary(Or, id "a", id "b"), id "c")) "&& and || share a level"
            Expect.equal (parsed "a - b - c") (Expr.Binary(Subtract, Expr.Binary(Subtract, id "a", id "b"), id "c")) "left-assoc"
            Expect.equal (parsed "!a == 0") (Expr.Binary(Equal, Expr.Unary(Not, id "a"), long 0L)) "not binds tightest"
            Expect.equal (parsed "x < 1 == 1") (Expr.Binary(Equal, Expr.Binary(Less, id "x", long 1L), long 1L)) "comparisons left-assoc"
        }
        test "literals, quoted identifiers and arrays" {
            Expect.equal (parsed "1e3") (lit (Value.Double 1000.0)) "exponent makes a double"
            Expect.equal (parsed "1.") (lit (Value.Double 1.0)) "trailing dot"
            Expect.equal (parsed "'it\\'s\\n\\u0041'") (lit (Value.String "it's\nA")) "string escapes"
            Expect.equal (parsed "\"my col.1\"") (id "my col.1") "quoted identifier"
            Expect.equal (parsed "$x_1") (id "$x_1") "identifier characters"
            Expect.equal (parsed "null") (lit Value.Null) "null"
            Expect.equal (parsed "[1, 2, null]") (lit (Value.Array [| Value.Long 1L; Value.Long 2L; Value.Null |])) "long array"
            Expect.equal (parsed "[1, 2.5]") (lit (Value.Array [| Value.Double 1.0; Value.Double 2.5 |])) "double array"
            Expect.equal (parsed "['a', null]") (lit (Value.Array [| Value.String "a"; Value.Null |])) "string array"
            Expect.equal (parsed "[]") (lit (Value.Array [||])) "empty array"
            Expect.equal (parsed "ARRAY<LONG>[1, 2.9]") (lit (Value.Array [| Value.Long 1L; Value.Long 2L |])) "typed long array"
            Expect.equal (parsed "<STRING>[1, 'b']") (lit (Value.Array [| Value.String "1"; Value.String "b" |])) "typed string array"
            Expect.equal (parsed "CONCAT(a, 'x')") (Expr.Call("concat", [ id "a"; lit (Value.String "x") ])) "function names are case-insensitive"
            Expect.equal (parsed "map((x) -> x + 1, mv)") (Expr.Call("map", [ Expr.Lambda([ "x" ], Expr.Binary(Add, id "x", long 1L)); id "mv" ])) "lambda"
        }
        test "parse errors name the problem and the position" {
            let cases =
                [ "a + (b))", "Unexpected token ')' at position 7 in expression \"a + (b))\""
                  "a +", "Unexpected end of expression at position 3 in expression \"a +\""
                  "", "Empty expression at position 0 in expression \"\""
                  "'abc", "Unterminated string literal at position 0 in expression \"'abc\""
                  "\"abc", "Unterminated quoted identifier at position 0 in expression \"\"abc\""
                  "a # b", "Unexpected character '#' at position 2 in expression \"a # b\""
                  "foo(1)", "function 'foo' is not defined at position 0 in expression \"foo(1)\""
                  "x + substring('a', 1)", "Function[substring] requires 3 arguments at position 4 in expression \"x + substring('a', 1)\""
                  "upper()", "Function[upper] requires 1 argument at position 0 in expression \"upper()\""
                  "strpos('a')", "Function[strpos] requires 2 to 3 arguments at position 0 in expression \"strpos('a')\""
                  "pi(1)", "Function[pi] does not accept arguments at position 0 in expression \"pi(1)\""
                  "case_searched(1)", "Function[case_searched] requires at least 2 arguments at position 0 in expression \"case_searched(1)\""
                  "map(x, y)", "Function[map] requires a lambda expression as its first argument at position 0 in expression \"map(x, y)\""
                  "upper(x -> x, y)", "Function[upper] does not accept a lambda expression at position 0 in expression \"upper(x -> x, y)\""
                  "['a', 1]", "Array literal mixes strings and numbers at position 6 in expression \"['a', 1]\""
                  "[a]", "Unexpected token 'a' in array literal; elements must be literals at position 1 in expression \"[a]\""
                  "'\\q'", "Invalid escape sequence '\\q' at position 1 in expression \"'\\q'\""
                  "99999999999999999999", "Number 99999999999999999999 is out of range for a long at position 0 in expression \"99999999999999999999\""
                  "timestamp_extract(__time, 'FORTNIGHT')", "Function[timestamp_extract] invalid unit [FORTNIGHT] in expression \"timestamp_extract(__time, 'FORTNIGHT')\""
                  "timestamp_floor(__time, 'P1X')", "Function[timestamp_floor] invalid period [P1X] in expression \"timestamp_floor(__time, 'P1X')\""
                  "timestamp_floor(__time, p)", "Function[timestamp_floor] period argument must be a literal in expression \"timestamp_floor(__time, p)\""
                  "timestamp_format(__time, 'yyyy', 'Mars/Base')", "Function[timestamp_format] invalid time zone [Mars/Base] in expression \"timestamp_format(__time, 'yyyy', 'Mars/Base')\""
                  "timestamp_format(__time, 'yyyy-qq')", "Function[timestamp_format] invalid pattern [yyyy-qq]: Illegal pattern component: q in expression \"timestamp_format(__time, 'yyyy-qq')\""
                  "cast(a, 'BLOB')", "Function[cast] invalid type [BLOB] in expression \"cast(a, 'BLOB')\""
                  "regexp_like(s, '(')", "Function[regexp_like] invalid regular expression [(]: Invalid pattern '(' at offset 1. Not enough )'s. in expression \"regexp_like(s, '(')\""
                  String.replicate 300 "(" + "1" + String.replicate 300 ")", "Expression is nested too deeply at position 200 in expression \"" + String.replicate 300 "(" + "1" + String.replicate 300 ")" + "\""
                  "fold((x) -> x, mv, 0)", "Function[fold] lambda expression argument count of 1 does not match the 2 arguments passed to it in expression \"fold((x) -> x, mv, 0)\"" ]
            for text, expected in cases do
                Expect.equal (Expr.parse text) (Error expected) text
        }
        test "arithmetic keeps longs, widens to doubles and propagates null" {
            check
                [ "a + b * 3", Value.Long 13L
                  "a / b", Value.Long 3L
                  "-7 / 2", Value.Long -3L
                  "a % b", Value.Long 1L
                  "a / 0", Value.Null
                  "a / 0.0", Value.Double infinity
                  "a / 2.0", Value.Double 3.5
                  "a + d", Value.Double 9.5
                  "2 ^ 10", Value.Long 1024L
                  "2.0 ^ -1", Value.Double 0.5
                  "-a", Value.Long -7L
                  "a + missing", Value.Null
                  "n + 1", Value.Double 13.0
                  "n * 'x'", Value.Null
                  "s + ' world'", Value.String "Hello world"
                  "s + 1", Value.Null
                  "7 - -2", Value.Long 9L ]
        }
        test "comparisons and logic return 1/0 longs with SQL three-valued nulls" {
            check
                [ "a > b", Value.Long 1L
                  "a == 7.0", Value.Long 1L
                  "s == 'Hello'", Value.Long 1L
                  "s < 'World'", Value.Long 1L
                  "'B' < 'a'", Value.Long 1L
                  "n == 12", Value.Long 1L
                  "missing == 1", Value.Null
                  "a > 1 && b > 1", Value.Long 1L
                  "a > 1 && missing", Value.Null
                  "a < 1 && missing", Value.Long 0L
                  "missing || 1", Value.Long 1L
                  "missing || 0", Value.Null
                  "0 || 0", Value.Long 0L
                  "!a", Value.Long 0L
                  "!0", Value.Long 1L
                  "!missing", Value.Null
                  "t && 1", Value.Long 1L
                  "'troo' || 'true'", Value.Long 1L
                  "'troo' && 'true'", Value.Long 0L
                  "-1 || 0", Value.Long 0L
                  "0.7 || 0.3", Value.Long 1L ]
        }
        test "general functions" {
            check
                [ "if(a > 5, 'big', 'small')", Value.String "big"
                  "if(missing, 1, 2)", Value.Long 2L
                  "nvl(missing, 'dflt')", Value.String "dflt"
                  "nvl(a, 0)", Value.Long 7L
                  "coalesce(missing, null, b)", Value.Long 2L
                  "isnull(missing)", Value.Long 1L
                  "notnull(s)", Value.Long 1L
                  "case_searched(a < 5, 'low', a < 10, 'mid', 'high')", Value.String "mid"
                  "case_searched(a > 50, 'x')", Value.Null
                  "case_simple(b, 1, 'one', 2, 'two', 'many')", Value.String "two"
                  "case_simple(b, 5, 'five', 'other')", Value.String "other"
                  "cast(n, 'LONG') + 1", Value.Long 13L
                  "cast('2.9', 'LONG')", Value.Long 2L
                  "cast(a, 'DOUBLE')", Value.Double 7.0
                  "cast(d, 'STRING')", Value.String "2.5"
                  "cast(a, 'ARRAY<STRING>')", Value.Array [| Value.String "7" |]
                  "greatest(1, 5, 3)", Value.Long 5L
                  "greatest(1, 2.5)", Value.Double 2.5
                  "least('b', 1)", Value.String "1"
                  "greatest(null, null)", Value.Null ]
        }
        test "string functions" {
            check
                [ "concat(s, '-', a)", Value.String "Hello-7"
                  "concat(s, missing)", Value.Null
                  "upper(s)", Value.String "HELLO"
                  "lower(s)", Value.String "hello"
                  "strlen(s)", Value.Long 5L
                  "substring(s, 1, 3)", Value.String "ell"
                  "substring(s, 3, -1)", Value.String "lo"
                  "substring(s, 9, 1)", Value.Null
                  "left(s, 2)", Value.String "He"
                  "right(s, 3)", Value.String "llo"
                  "left(s, 99)", Value.String "Hello"
                  "strpos(s, 'l')", Value.Long 2L
                  "strpos(s, 'l', 3)", Value.Long 3L
                  "strpos(s, 'z')", Value.Long -1L
                  "replace(s, 'l', 'L')", Value.String "HeLLo"
                  "trim('  x  ')", Value.String "x"
                  "ltrim('xxaxx', 'x')", Value.String "axx"
                  "rtrim('xxaxx', 'x')", Value.String "xxa"
                  "lpad(s, 8, 'ab')", Value.String "abaHello"
                  "rpad(s, 7, '*')", Value.String "Hello**"
                  "lpad(s, 3, '*')", Value.String "Hel"
                  "reverse(s)", Value.String "olleH"
                  "repeat('ab', 3)", Value.String "ababab"
                  "repeat('ab', 0)", Value.Null // Druid: SQL-compatible empty string (null)
                  "repeat('ab', 100000000)", Value.Null
                  "contains_string(s, 'ell')", Value.Long 1L
                  "contains_string(s, 'ELL')", Value.Long 0L
                  "icontains_string(s, 'ELL')", Value.Long 1L
                  "like(s, 'H_l%')", Value.Long 1L
                  "like('a%b', 'a!%b', '!')", Value.Long 1L
                  "like('axb', 'a!%b', '!')", Value.Long 0L
                  "regexp_like(s, 'l+')", Value.Long 1L
                  "regexp_extract('foo123bar', '[0-9]+')", Value.String "123"
                  "regexp_extract('foo123bar', '([a-z]+)([0-9]+)', 2)", Value.String "123"
                  "regexp_extract('foo', '[0-9]+')", Value.Null
                  "regexp_replace('a1b22', '[0-9]+', '#')", Value.String "a#b#"
                  "parse_long('ff', 16)", Value.Long 255L
                  "parse_long('0x1F', 16)", Value.Long 31L
                  "parse_long('-42')", Value.Long -42L
                  "parse_long('4x2')", Value.Null
                  "format('%s has %d items costing %.2f', s, a, d)", Value.String "Hello has 7 items costing 2.50"
                  "format('%5s|%-4d|%05d', 'ab', 3, 42)", Value.String "   ab|3   |00042"
                  "format('%,d %x %%', 1234567, 255)", Value.String "1,234,567 ff %" ]
        }
        test "math functions" {
            check
                [ "abs(-3)", Value.Long 3L
                  "abs(-2.5)", Value.Double 2.5
                  "ceil(2.1)", Value.Double 3.0
                  "floor(a / 2.0)", Value.Double 3.0
                  "round(2.345, 2)", Value.Double 2.35
                  "round(2.5)", Value.Double 3.0
                  "round(1234, -2)", Value.Long 1200L
                  "round(-2.5)", Value.Double -3.0
                  "pow(2, 3)", Value.Double 8.0
                  "sqrt(16)", Value.Double 4.0
                  "log10(1000)", Value.Double 3.0
                  "exp(0)", Value.Double 1.0
                  "div(7, 2)", Value.Long 3L
                  "div(7, 0)", Value.Null
                  "max(3, 9)", Value.Long 9L
                  "min(3, 1.5)", Value.Double 1.5
                  "safe_divide(1, 0)", Value.Null
                  "sqrt(missing)", Value.Null ]
        }
        test "time functions" {
            check
                [ "timestamp_floor(__time, 'P1D')", Value.Long 1377907200000L
                  "timestamp_floor(__time, 'PT1H', null, 'America/Los_Angeles')", Value.Long 1377910800000L
                  "timestamp_floor(__time, 'P1D', null, 'Asia/Shanghai')", Value.Long 1377878400000L
                  "timestamp_ceil(__time, 'P1D')", Value.Long 1377993600000L
                  "timestamp_ceil(1377907200000, 'P1D')", Value.Long 1377907200000L
                  "timestamp_shift(__time, 'P1M', 1)", Value.Long 1380502953123L
                  "timestamp_shift(__time, 'PT1H', -2)", Value.Long 1377903753123L
                  "timestamp_extract(__time, 'YEAR')", Value.Long 2013L
                  "timestamp_extract(__time, 'MONTH')", Value.Long 8L
                  "timestamp_extract(__time, 'DAY')", Value.Long 31L
                  "timestamp_extract(__time, 'HOUR', 'Asia/Shanghai')", Value.Long 9L
                  "timestamp_extract(__time, 'DOW')", Value.Long 6L
                  "timestamp_extract(__time, 'DOY')", Value.Long 243L
                  "timestamp_extract(__time, 'WEEK')", Value.Long 35L
                  "timestamp_extract(__time, 'QUARTER')", Value.Long 3L
                  "timestamp_extract(__time, 'EPOCH')", Value.Long 1377910953L
                  "timestamp_extract(__time, 'millisecond')", Value.Long 123L
                  "timestamp_extract(__time, 'CENTURY')", Value.Double 21.0
                  "timestamp_parse('2013-08-31T01:02:33Z')", Value.Long 1377910953000L
                  "timestamp_parse('2013-08-31 01:02:33')", Value.Long 1377910953000L
                  "timestamp_parse('31/08/2013 09:02', 'dd/MM/yyyy HH:mm', 'Asia/Shanghai')", Value.Long 1377910920000L
                  "timestamp_parse('not a time')", Value.Null
                  "timestamp_format(__time)", Value.String "2013-08-31T01:02:33.123Z"
                  "timestamp_format(__time, 'yyyy-MM-dd HH:mm')", Value.String "2013-08-31 01:02"
                  "timestamp_format(__time, null, 'Asia/Shanghai')", Value.String "2013-08-31T09:02:33.123+08:00"
                  "timestamp('2013-08-31T01:02:33Z')", Value.Long 1377910953000L
                  "unix_timestamp('2013-08-31T01:02:33Z')", Value.Long 1377910953L
                  "timestamp_floor(missing, 'P1D')", Value.Null
                  "timestamp_shift(__time, 'P1000Y', 9000)", Value.Null
                  "timestamp_floor(9000000000000000000, 'P1M', null, 'Asia/Shanghai')", Value.Null ]
        }
        test "array and apply functions" {
            check
                [ "array_length(mv)", Value.Long 2L
                  "array_length([])", Value.Long 0L
                  "array_offset(mv, 1)", Value.String "y"
                  "array_offset(mv, 2)", Value.Null
                  "array_ordinal(mv, 1)", Value.String "x"
                  "array_contains(mv, 'y')", Value.Long 1L
                  "array_contains(mv, ['x', 'z'])", Value.Long 0L
                  "array_overlap(mv, ['z', 'x'])", Value.Long 1L
                  "array_offset_of(mv, 'y')", Value.Long 1L
                  "array_ordinal_of(mv, 'q')", Value.Null
                  "array_append(mv, 'z')", Value.Array [| Value.String "x"; Value.String "y"; Value.String "z" |]
                  "array_prepend('w', mv)", Value.Array [| Value.String "w"; Value.String "x"; Value.String "y" |]
                  "array_concat([1], [2, 3])", Value.Array [| Value.Long 1L; Value.Long 2L; Value.Long 3L |]
                  "array_slice([1, 2, 3, 4], 1, 3)", Value.Array [| Value.Long 2L; Value.Long 3L |]
                  "array_slice([1, 2], 3)", Value.Null
                  "array_to_string(mv, ',')", Value.String "x,y"
                  "array_to_string(['a', null], '|')", Value.String "a|null"
                  "string_to_array('a,b,,', ',')", Value.Array [| Value.String "a"; Value.String "b" |]
                  "scalar_in_array('x', mv)", Value.Long 1L
                  "mv_length(mv)", Value.Long 2L
                  "array(1, 2.5)", Value.Array [| Value.Double 1.0; Value.Double 2.5 |]
                  "map((x) -> concat(x, '!'), mv)", Value.Array [| Value.String "x!"; Value.String "y!" |]
                  "filter((x) -> x > 1, [1, 2, 3])", Value.Array [| Value.Long 2L; Value.Long 3L |]
                  "fold((x, acc) -> x + acc, [1, 2, 3], 10)", Value.Long 16L
                  "any(x -> x == 'y', mv)", Value.Long 1L
                  "all(x -> x == 'y', mv)", Value.Long 0L
                  "cartesian_map((x, y) -> x * y, [1, 2], [10, 20])", Value.Array [| Value.Long 10L; Value.Long 20L; Value.Long 20L; Value.Long 40L |]
                  "map((a) -> a * 2, [1, 2])", Value.Array [| Value.Long 2L; Value.Long 4L |] ]
        }
        test "scalar operations apply to each value of a multi-value column" {
            check
                [ "upper(mv)", Value.Array [| Value.String "X"; Value.String "Y" |]
                  "concat(mv, '1')", Value.Array [| Value.String "x1"; Value.String "y1" |]
                  "mv == 'y'", Value.Array [| Value.Long 0L; Value.Long 1L |] ]
            Expect.equal (evalText (row [ "one", Value.Array [| Value.String "solo" |] ]) "upper(one)") (Value.String "SOLO") "single value is scalar"
            Expect.equal (evalText (row [ "none", Value.Array [||] ]) "isnull(upper(none))") (Value.Long 1L) "empty row is null"
        }
        test "required columns skip lambda parameters and repeat nothing" {
            Expect.equal (Expr.requiredColumns (parsed "a + b * a")) [ "a"; "b" ] "plain"
            Expect.equal (Expr.requiredColumns (parsed "map((x) -> x + y, x)")) [ "y"; "x" ] "lambda-bound x is not a column inside"
            Expect.equal (Expr.requiredColumns (parsed "\"__time\" > 0 && concat(\"a b\", 'c') == 'd'")) [ "__time"; "a b" ] "quoted"
            Expect.equal (Expr.requiredColumns (parsed "1 + 2")) [] "none"
        }
        testProperty "long arithmetic matches Java semantics" <| fun (a: int64) (b: int64) (pick: byte) ->
            let ops = [| "+", (fun x y -> Some(x + y)); "-", (fun x y -> Some(x - y)); "*", (fun x y -> Some(x * y))
                         "/", (fun x y -> if y = 0L then None elif y = -1L then Some(-x) else Some(x / y))
                         "%", (fun x y -> if y = 0L then None elif y = -1L then Some 0L else Some(x % y)) |]
            let text, oracle = ops.[int pick % ops.Length]
            let expected = match oracle a b with Some v -> Value.Long v | None -> Value.Null
            evalText (row [ "x", Value.Long a; "y", Value.Long b ]) (sprintf "x %s y" text) = expected
        testProperty "a null operand makes every arithmetic and comparison result null" <| fun (a: int64) (pick: byte) ->
            let ops = [| "+"; "-"; "*"; "/"; "%"; "^"; "<"; "<="; ">"; ">="; "=="; "!=" |]
            let op = ops.[int pick % ops.Length]
            let r = row [ "x", Value.Long a ]
            evalText r (sprintf "x %s missing" op) = Value.Null && evalText r (sprintf "missing %s x" op) = Value.Null
        testProperty "strings compare as their UTF-8 bytes (shared prefixes, surrogate pairs, private-use characters)" <| fun (seed: int) ->
            let rnd = System.Random(seed)
            // Characters on both sides of the surrogate range, where UTF-16 and UTF-8 order differ.
            let pieces = [| "a"; "b"; "http://x.org/"; "é"; "\uE000"; "\uFFFD"; "\U0001F600"; "\U00010000"; "" |]
            let text () = System.String.Concat(Array.init (rnd.Next 6) (fun _ -> pieces.[rnd.Next pieces.Length]))
            let prefix = text ()
            let a, b = prefix + text (), prefix + text ()
            let bytes (s: string) = System.Text.Encoding.UTF8.GetBytes s
            let expected = System.MemoryExtensions.SequenceCompareTo(System.ReadOnlySpan(bytes a), System.ReadOnlySpan(bytes b))
            sign (ExprOps.compareUtf8 a b) = sign expected && ExprOps.compareUtf8 a a = 0
    ]

[<Tests>]
let jodaTests =
    testList "Expr.JodaFormat" [
        test "formats with Joda pattern letters" {
            let t = 1377910953123L // 2013-08-31T01:02:33.123Z, a Saturday
            let utc = DateTimeZone.Utc
            let la = (Time.tryParseZone "America/Los_Angeles").Value
            let cases =
                [ "yyyy-MM-dd'T'HH:mm:ss.SSSZZ", utc, "2013-08-31T01:02:33.123+00:00"
                  "yyyy-MM-dd HH:mm:ss Z", la, "2013-08-30 18:02:33 -0700"
                  "EEE, d MMM yyyy hh:mm a", utc, "Sat, 31 Aug 2013 01:02 AM"
                  "EEEE MMMM dd yy", la, "Friday August 30 13"
                  "D 'day' w 'week' e", utc, "243 day 35 week 6"
                  "h:mm a z", la, "6:02 PM PDT"
                  "k K S SS", utc, "1 1 1 12"
                  "''yyyy''", utc, "'2013'"
                  "ZZZ", la, "America/Los_Angeles" ]
            for pattern, zone, expected in cases do
                Expect.equal (JodaFormat.format pattern zone t) expected pattern
        }
        test "parses with Joda patterns" {
            let utc = DateTimeZone.Utc
            let sh = (Time.tryParseZone "Asia/Shanghai").Value
            let cases =
                [ "yyyy-MM-dd HH:mm:ss", utc, "2013-08-31 01:02:33", Some 1377910953000L
                  "yyyy-MM-dd HH:mm:ss", sh, "2013-08-31 09:02:33", Some 1377910953000L
                  "yyyy-MM-dd'T'HH:mm:ss.SSSZZ", sh, "2013-08-31T01:02:33.123Z", Some 1377910953123L
                  "dd/MMM/yyyy:HH:mm:ss Z", utc, "31/Aug/2013:03:02:33 +0200", Some 1377910953000L
                  "yyyyMMddHHmm", utc, "201308310102", Some 1377910920000L
                  "MM/dd/yyyy hh:mm a", utc, "08/31/2013 01:02 PM", Some 1377954120000L
                  "MMMM d, yyyy", utc, "August 31, 2013", Some 1377907200000L
                  "yyyy-MM-dd", utc, "2013-02-30", None
                  "yyyy-MM-dd", utc, "2013-08-31x", None
                  "yyyy-MM-dd", utc, "31-08-2013", None
                  "yyyy-qq", utc, "2013-01", None ]
            for pattern, zone, text, expected in cases do
                Expect.equal (JodaFormat.tryParse pattern zone text) expected (pattern + " / " + text)
        }
        test "bad patterns are rejected" {
            Expect.equal (JodaFormat.compile "yyyy-qq" |> Result.map ignore) (Error "Illegal pattern component: q") "unknown letter"
            Expect.equal (JodaFormat.compile "yyyy 'oops" |> Result.map ignore) (Error "Illegal pattern: unterminated quote in \"yyyy 'oops\"") "quote"
            Expect.isNull (JodaFormat.format "T" DateTimeZone.Utc 0L) "format with a bad pattern is null"
        }
        testProperty "format then parse with a full pattern is the identity" <| fun (t: int64) ->
            let t = abs (t % 253402300799999L)
            let pattern = "yyyy-MM-dd'T'HH:mm:ss.SSSZZ"
            let zone = (Time.tryParseZone "Asia/Kolkata").Value
            JodaFormat.tryParse pattern DateTimeZone.Utc (JodaFormat.format pattern zone t) = Some t
    ]
