module FunctionalDruid.Tests.Core.ExprCatalogTests

open System
open Expecto
open FsCheck
open FunctionalDruid.Core

let private row (pairs: (string * Value) list) : string -> Value =
    let m = Map.ofList pairs
    fun c -> defaultArg (m.TryFind c) Value.Null

let private s (x: string) = Value.String x
let private l (x: int64) = Value.Long x
let private d (x: float) = Value.Double x
let private arr (xs: Value list) = Value.Array(Array.ofList xs)
let private strs (xs: string list) = arr (xs |> List.map (fun x -> if isNull x then Value.Null else s x))
let private longs (xs: int64 list) = arr (xs |> List.map l)

let private sample =
    row [ "a", l 7L
          "d", d 2.5
          "str", s "Hello"
          "num", s "12"
          "mv", strs [ "x"; "y" ]
          "nums", longs [ 3L; 1L; 2L ]
          "json", s """{"a":1,"b":{"c":"x","d":[1,2,3]},"e":[{"f":1},{"f":2}],"g":true,"h":null,"i":2.5,"k l":"sp"}"""
          "ip", s "192.168.1.10"
          "ipl", l 3232235786L ] // 192.168.1.10

let private evalIn (r: string -> Value) (text: string) : Value =
    match Expr.parse text with
    | Ok e -> Expr.eval r e
    | Error err -> failtestf "%s did not parse: %s" text err

let private check (cases: (string * Value) list) =
    for text, expected in cases do
        Expect.equal (evalIn sample text) expected text

/// Problems Druid reports while the expression is parsed and validated.
let private rejects (cases: (string * string) list) =
    for text, expected in cases do
        match Expr.parse text with
        | Ok _ -> failtestf "%s parsed but should fail with %s" text expected
        | Error e -> Expect.stringContains e expected text

/// Problems Druid reports while evaluating a row.
let private failsAtRow (cases: (string * string) list) =
    for text, expected in cases do
        match Expr.parse text with
        | Error e -> failtestf "%s did not parse: %s" text e
        | Ok e ->
            let problem =
                try
                    Expr.eval sample e |> ignore
                    None
                with ExprFunctions.FunctionError message -> Some message
            match problem with
            | Some message -> Expect.stringContains message expected text
            | None -> failtestf "%s evaluated but should fail with %s" text expected

[<Tests>]
let tests =
    testList "ExprCatalog" [
        test "general functions" {
            check
                [ "istrue(1)", l 1L
                  "istrue(0)", l 0L
                  "istrue(null)", l 0L
                  "isfalse(0)", l 1L
                  "isfalse(null)", l 0L
                  "nottrue(null)", l 1L
                  "nottrue(1)", l 0L
                  "notfalse(null)", l 1L
                  "notfalse(0)", l 0L
                  "cast(null, 'LONG')", Value.Null
                  "cast('x', 'DOUBLE')", Value.Null
                  "cast(d, 'LONG')", l 2L
                  "cast([1, 2], 'ARRAY<STRING>')", strs [ "1"; "2" ]
                  "cast('5', 'ARRAY<LONG>')", longs [ 5L ]
                  "coalesce(null, null)", Value.Null
                  "nvl(null, null)", Value.Null
                  "case_simple(a, 7, 'seven')", s "seven"
                  "case_simple(a, 8, 'eight')", Value.Null
                  "if(null, 1, 2)", l 2L
                  "like(null, '%')", l 0L
                  "greatest()", Value.Null
                  "least(3, null, 1)", l 1L
                  "greatest('a', 'B')", s "a" ]
            rejects
                [ "contains_string(str, str)", "Function[contains_string] substring must be a string literal"
                  "regexp_like(str, str)", "Function[regexp_like] pattern must be a string literal"
                  "regexp_extract(str, 1)", "Function[regexp_extract] pattern must be a string literal"
                  "regexp_replace(str, null, 'x')", "Function[regexp_replace] pattern must be a string literal"
                  "regexp_replace(str, 'a', null)", "Function[regexp_replace] index must be a string literal"
                  "lookup(str, 'lk')", "Function[lookup] is not supported"
                  "bloom_filter_test(str, 'abc')", "Function[bloom_filter_test] is not supported" ]
        }
        test "string functions follow Druid's SQL-compatible null handling" {
            check
                [ "concat()", Value.Null
                  "concat('a', 1, 2.5)", s "a12.5"
                  "concat('a', null)", Value.Null
                  "strlen('')", l 0L
                  "strlen(null)", Value.Null
                  "strlen('\\ud83d\\ude00')", l 2L
                  "lower(null)", Value.Null
                  "upper('straße')", s "STRASSE"
                  "substring('abc', 3, 1)", Value.Null
                  "substring('abc', 0, 0)", s ""
                  "substring(null, 0, 1)", Value.Null
                  "left('abc', 0)", s ""
                  "left(null, 2)", Value.Null
                  "right('abc', 5)", s "abc"
                  "strpos('abc', '')", l 0L
                  "strpos('abc', '', 9)", l 3L
                  "strpos('abc', 'c', -4)", l 2L
                  "strpos('abc', 'c', 9)", l -1L
                  "strpos(null, 'a')", Value.Null
                  "replace('aaa', 'a', '')", s ""
                  "replace('ab', '', '-')", s "-a-b-"
                  "replace(null, 'a', 'b')", Value.Null
                  "trim('xxhixx', 'x')", s "hi"
                  "trim(null)", Value.Null
                  "trim(' a ', null)", s " a "
                  "trim(' a ', '')", s " a "
                  "trim(a)", l 7L
                  "trim(str, 'H')", s "ello"
                  "ltrim(concat('xy', str), str)", s "xyHello"
                  "rtrim(concat(str, 'xy'), 'yx')", s "Hello"
                  "contains_string('abc', null)", l 1L
                  "regexp_replace(str, 'l', str)", s "HeHelloHelloo"
                  "regexp_replace(str, str, null)", Value.Null
                  "trim('  ')", s ""
                  "ltrim('  a ')", s "a "
                  "rtrim('  a ')", s "  a"
                  "trim('abcba', 'ab')", s "c"
                  "lpad('abc', 0, 'x')", Value.Null
                  "lpad('abc', -1, 'x')", s ""
                  "lpad('abc', 5, '')", s "abc"
                  "lpad('abc', 2, '')", s "ab"
                  "lpad('abc', 7, 'xy')", s "xyxyabc"
                  "rpad('abc', 7, 'xy')", s "abcxyxy"
                  "rpad('abcdef', 3, 'x')", s "abc"
                  "lpad(null, 3, 'x')", Value.Null
                  "lpad('a', 3, null)", Value.Null
                  "lpad('a', null, 'x')", Value.Null
                  "repeat('ab', -1)", Value.Null
                  "repeat('', 3)", s ""
                  "repeat(null, 3)", Value.Null
                  "reverse('')", s ""
                  "reverse(null)", Value.Null
                  "reverse('a\\ud83d\\ude00b')", s "b\ud83d\ude00a"
                  "contains_string(null, 'a')", l 0L
                  "contains_string('abc', '')", l 1L
                  "icontains_string('ABC', 'b')", l 1L
                  "regexp_like('abc', '^b')", l 0L
                  "regexp_like(null, 'a')", l 0L
                  "regexp_like('abc', null)", l 1L
                  "regexp_extract(null, 'a')", Value.Null
                  "regexp_extract('abc', 'b', 0)", s "b"
                  "regexp_extract('a1b2', '([a-z])([0-9])', 1)", s "a"
                  "regexp_replace('abc', 'b', '$0$0')", s "abbc"
                  "regexp_replace('a-b', '(\\\\w)-(\\\\w)', '$2-$1')", s "b-a"
                  "regexp_replace('a.b', '\\\\.', '\\\\$')", s "a$b"
                  "regexp_replace(null, 'a', 'b')", Value.Null
                  "parse_long(' 42')", Value.Null
                  "parse_long('+42')", l 42L
                  "parse_long('z', 36)", l 35L
                  "parse_long('10', 99)", Value.Null
                  "parse_long('9223372036854775808')", Value.Null
                  "parse_long(null)", Value.Null
                  "format('%d%%', 5)", s "5%"
                  "format('%s', null)", s "null"
                  "format('%d', 'x')", s "%d; x"
                  "format('%s %s', 'a')", s "%s %s; a"
                  "format(null, 1)", Value.Null
                  "decode_base64_utf8('aGVsbG8=')", s "hello"
                  "decode_base64_utf8(null)", Value.Null ]
            failsAtRow
                [ "left('abc', -1)", "Function[left] needs a postive integer as second argument"
                  "right('abc', -1)", "Function[right] needs a positive integer as the second argument"
                  "repeat(1, 2)", "Function[repeat] needs a STRING as first argument and a LONG as second argument"
                  "left('abc', 1.5)", "Function[left] needs a STRING as first argument and a LONG as second argument"
                  "reverse(5)", "Function[reverse] needs a STRING argument but got LONG instead"
                  "decode_base64_utf8('***')", "Function[decode_base64_utf8] invalid base64 input" ]
        }
        test "math functions keep Druid's long and double typing" {
            check
                [ "abs(-9223372036854775807 - 1)", l Int64.MinValue
                  "abs('5')", Value.Null
                  "abs(null)", Value.Null
                  "ceil(5)", d 5.0
                  "floor(-2.5)", d -3.0
                  "rint(2.5)", d 2.0
                  "signum(-4)", d -1.0
                  "signum(0.0)", d 0.0
                  "sqrt('16')", Value.Null
                  "cbrt(27)", d 3.0
                  "exp(1)", d Math.E
                  "expm1(0)", d 0.0
                  "log1p(0)", d 0.0
                  "log(1)", d 0.0
                  "cot(1)", d (Math.Cos 1.0 / Math.Sin 1.0)
                  "todegrees(pi())", d 180.0
                  "toradians(180)", d Math.PI
                  "ulp(1.0)", d 2.220446049250313E-16
                  "nextup(1.0)", d 1.0000000000000002
                  "nextafter(1.0, 0)", d 0.9999999999999999
                  "getexponent(1024)", l 10L
                  "getexponent(0.1)", l -4L
                  "scalb(3, 2)", d 12.0
                  "scalb('a', 'b')", Value.Null
                  "pow(2, 10)", d 1024.0
                  "pow('2', 3)", d 8.0
                  "pow('2', '3')", Value.Null
                  "atan2(1, 1)", d (Math.PI / 4.0)
                  "hypot(3, 4)", d 5.0
                  "copysign(3, -0.0)", d -3.0
                  "remainder(5, 3)", d -1.0
                  "max(2, 3)", l 3L
                  "max(2, 3.5)", d 3.5
                  "max('2', 1)", d 2.0
                  "max('a', 'b')", Value.Null
                  "min(null, 1)", Value.Null
                  "div(7.9, 0.5)", l 15L
                  "div(-7, 2)", l -3L
                  "div(1, 0.0)", l Int64.MaxValue
                  "safe_divide(0, 0)", l 0L
                  "safe_divide(3, 0)", Value.Null
                  "safe_divide(3.0, 0)", Value.Null
                  "safe_divide(0.0, 0.0)", d 0.0
                  "safe_divide(7, 2)", l 3L
                  "safe_divide(7.0, 2)", d 3.5
                  "round(null)", Value.Null
                  "round(2.5, 0)", d 3.0
                  "round(-1.5)", d -2.0
                  "round(1.005, 2)", d 1.01
                  "round(1234.5678, -2)", d 1200.0
                  "round(15, -1)", l 20L
                  "round(0.0 / 0.0)", d 0.0
                  "round(1.0 / 0.0)", d Double.MaxValue
                  "bitwiseand(12, 10)", l 8L
                  "bitwiseor(12, 10)", l 14L
                  "bitwisexor(12, 10)", l 6L
                  "bitwiseshiftleft(1, 65)", l 2L
                  "bitwiseshiftright(-16, 2)", l -4L
                  "bitwisecomplement(0)", l -1L
                  "bitwiseand(7.9, 3)", l 3L
                  "bitwiseand('6', 3)", l 2L
                  "bitwiseand('6', '3')", Value.Null
                  "bitwiseand(null, 3)", Value.Null
                  "bitwise_and(5, 3)", l 1L
                  "bitwiseconvertdoubletolongbits(1.0)", l 4607182418800017408L
                  "bitwiseconvertlongbitstodouble(4607182418800017408)", d 1.0
                  "bitwiseconvertdoubletolongbits(1)", l 4607182418800017408L
                  "human_readable_binary_byte_format(1048576)", s "1.00 MiB"
                  "human_readable_binary_byte_format(1048576, 3)", s "1.000 MiB"
                  "human_readable_binary_byte_format(1023)", s "1023 B"
                  "human_readable_binary_byte_format(-1536, 1)", s "-1.5 KiB"
                  "human_readable_binary_byte_format(-9223372036854775807 - 1)", s "-8.00 EiB"
                  "human_readable_decimal_byte_format(1000000)", s "1.00 MB"
                  "human_readable_decimal_byte_format(999)", s "999 B"
                  "human_readable_decimal_byte_format(1234567, 3)", s "1.234 MB"
                  "human_readable_decimal_format(1000000)", s "1.00 M"
                  "human_readable_decimal_format(999)", s "999"
                  "human_readable_decimal_format(1500.7, 0)", s "2 K"
                  "human_readable_decimal_format(null)", Value.Null ]
            failsAtRow
                [ "round('1.5')", "Function[round] first argument should be a LONG or DOUBLE but got STRING instead"
                  "round(1.5, 1.0)", "Function[round] second argument should be a LONG but got DOUBLE instead"
                  "human_readable_binary_byte_format(1, 4)", "Function[human_readable_binary_byte_format] given precision[4] must be in the range of [0,3]"
                  "human_readable_binary_byte_format('1')", "Function[human_readable_binary_byte_format] needs a number as its first argument but got STRING instead"
                  "human_readable_decimal_format(1, '2')", "Function[human_readable_decimal_format] needs a LONG as its second argument but got STRING instead" ]
        }
        test "array functions" {
            check
                [ "array('a', null)", strs [ "a"; null ]
                  "array(1, '2')", longs [ 1L; 2L ]
                  "array('a', 1)", strs [ "a"; "1" ]
                  "array_length(null)", Value.Null
                  "array_length('a')", l 1L
                  "array_offset(nums, null)", Value.Null
                  "array_offset(nums, -1)", Value.Null
                  "array_ordinal(nums, 3)", l 2L
                  "array_ordinal(nums, 0)", Value.Null
                  "array_offset(null, 0)", Value.Null
                  "array_contains(nums, 2)", l 1L
                  "array_contains(nums, '2')", l 1L
                  "array_contains(nums, [1, 2])", l 1L
                  "array_contains(nums, [1, 5])", l 0L
                  "array_contains(nums, null)", Value.Null
                  "array_contains([1, null], 'abc')", l 0L
                  "array_contains(null, 1)", Value.Null
                  "array_contains([1, null], [null])", l 1L
                  "array_contains(nums, <LONG>[])", l 1L
                  "array_overlap(nums, [5, 3])", l 1L
                  "array_overlap(nums, [5])", l 0L
                  "array_overlap(nums, null)", Value.Null
                  "array_overlap([null], [null])", l 1L
                  "scalar_in_array(2, nums)", l 1L
                  "scalar_in_array(9, nums)", l 0L
                  "scalar_in_array(null, nums)", Value.Null
                  "scalar_in_array(1, null)", Value.Null
                  "array_offset_of(nums, 2)", l 2L
                  "array_offset_of(['a', null], null)", l 1L
                  "array_ordinal_of(nums, '1')", l 2L
                  "array_ordinal_of(nums, 9)", Value.Null
                  "array_offset_of(null, 1)", Value.Null
                  "array_append(nums, '4')", longs [ 3L; 1L; 2L; 4L ]
                  "array_append(nums, null)", arr [ l 3L; l 1L; l 2L; Value.Null ]
                  "array_append(null, 1)", Value.Null
                  "array_append(<LONG>[], 1)", longs [ 1L ]
                  "array_prepend(1.5, nums)", longs [ 1L; 3L; 1L; 2L ]
                  "array_prepend('z', mv)", strs [ "z"; "x"; "y" ]
                  "array_concat(mv, [1, 2])", strs [ "x"; "y"; "1"; "2" ]
                  "array_concat(nums, null)", Value.Null
                  "array_concat(null, nums)", Value.Null
                  "array_set_add(nums, 2)", longs [ 1L; 2L; 3L ]
                  "array_set_add(nums, null)", arr [ Value.Null; l 1L; l 2L; l 3L ]
                  "array_set_add(['b', 'a'], 'B')", strs [ "B"; "a"; "b" ]
                  "array_set_add_all(nums, [5, 1, 5])", longs [ 1L; 2L; 3L; 5L ]
                  "array_set_add_all(nums, null)", Value.Null
                  "array_slice(nums, 1)", longs [ 1L; 2L ]
                  "array_slice(nums, 0, 0)", arr []
                  "array_slice(nums, 2, 5)", arr [ l 2L; Value.Null; Value.Null ]
                  "array_slice(nums, 3)", arr []
                  "array_slice(nums, 4)", Value.Null
                  "array_slice(nums, -1, 2)", Value.Null
                  "array_slice(nums, 2, 1)", Value.Null
                  "array_slice(null, 0, 1)", Value.Null
                  "array_to_string(nums, '-')", s "3-1-2"
                  "array_to_string(nums, null)", s "312"
                  "array_to_string([null], ',')", Value.Null
                  "array_to_string(<STRING>[], ',')", s ""
                  "array_to_string([1.5, 2.0], ',')", s "1.5,2.0"
                  "array_to_string(null, ',')", Value.Null
                  "string_to_array('a1b22c', '[0-9]+')", strs [ "a"; "b"; "c" ]
                  "string_to_array('abc', '')", strs [ "a"; "b"; "c" ]
                  "string_to_array('abc', null)", strs [ "a"; "b"; "c" ]
                  "string_to_array(',a,,b,,', ',')", strs [ ""; "a"; ""; "b" ]
                  "string_to_array('a(b', '(b)')", strs [ "a(" ]
                  "string_to_array('', ',')", strs [ "" ]
                  "string_to_array(null, ',')", Value.Null
                  "mv_to_array(mv)", strs [ "x"; "y" ]
                  "mv_to_array(a)", strs [ "7" ]
                  "mv_to_array(missing)", Value.Null
                  "array_to_mv(nums)", strs [ "3"; "1"; "2" ]
                  "mv_contains(mv, 'x')", l 1L
                  "mv_slice(mv, 1)", strs [ "y" ] ]
            rejects
                [ "mv_to_array(concat('a', 'b'))", "Function[mv_to_array] argument should be an identifier expression. Use array() instead"
                  "array()", "Function[array] requires at least 1 argument"
                  "string_to_array('a', '(')", "Function[string_to_array] invalid regular expression [(]" ]
            failsAtRow [ "array_offset_of(nums, mv)", "Function[array_offset_of] second argument must be a a scalar type but got ARRAY<STRING> instead" ]
        }
        test "apply functions" {
            check
                [ "cartesian_fold((x, y, acc) -> acc + x * y, [1, 2], [10, 20], 0)", l 90L
                  "cartesian_fold((x, y, acc) -> concat(acc, x, y), ['a', 'b'], ['1', '2'], '')", s "a1a2b1b2"
                  "cartesian_fold((x, y, acc) -> acc + 1, [1], null, 0)", Value.Null
                  "cartesian_map((x, y) -> x + y, [1], null)", Value.Null
                  "map((x) -> x * 2, null)", Value.Null
                  "filter((x) -> x > 9, nums)", Value.Null
                  "any((x) -> x > 2, <LONG>[])", l 0L
                  "all((x) -> x > 2, <LONG>[])", l 1L
                  "fold((x, acc) -> acc + x, <LONG>[], 5)", l 5L
                  "map((x) -> x + a, nums)", longs [ 10L; 8L; 9L ]
                  "map((x) -> if(x > 2, 'big', x), nums)", strs [ "big"; "1"; "2" ]
                  "map((x) -> if(x > 2, 0.5, x), nums)", arr [ d 0.5; d 1.0; d 2.0 ]
                  "map((x) -> x, <LONG>[])", arr []
                  "any((x) -> x > 2, null)", l 0L
                  "all((x) -> x > 2, null)", l 0L
                  "cartesian_fold((x, y, acc) -> acc + 1, [1], <LONG>[], 0)", arr []
                  "cartesian_map((x, y) -> x, [1], <LONG>[])", arr [] ]
            rejects [ "cartesian_fold((x, acc) -> x, [1], [2], 0)", "Function[cartesian_fold] lambda expression argument count of 2 does not match the 3 arguments passed to it" ]
        }
        test "time additions" {
            check
                [ "subtract_months(timestamp_parse('2020-03-31'), timestamp_parse('2020-01-31'), 'UTC')", l 2L
                  "subtract_months(timestamp_parse('2020-03-30'), timestamp_parse('2020-01-31'), 'UTC')", l 1L
                  "subtract_months(timestamp_parse('2020-01-01'), timestamp_parse('2020-03-01'), 'UTC')", l -2L
                  "subtract_months(null, 0, 'UTC')", Value.Null
                  "timestamp_extract(timestamp_parse('2021-01-01'), 'ISOYEAR')", l 2020L
                  "timestamp_extract(timestamp_parse('2021-01-01'), 'YEAR')", l 2021L
                  "timestamp_extract(timestamp_parse('2021-01-03'), 'ISODOW')", l 7L
                  "timestamp_extract('2021-01-03T10:00:00Z', 'HOUR')", l 10L
                  "timestamp_extract(1609668000000, 'MICROSECOND')", l 1609668L
                  "timestamp_extract('not a time', 'HOUR')", Value.Null
                  "timestamp_extract(null, 'HOUR')", Value.Null ]
        }
        test "JSON functions" {
            check
                [ "json_value(json, '$.a')", l 1L
                  "json_value(json, '$.b.c')", s "x"
                  "json_value(json, '$.b.d')", longs [ 1L; 2L; 3L ]
                  "json_value(json, '$.b.d[1]')", l 2L
                  "json_value(json, '$.b.d[-1]')", l 3L
                  "json_value(json, '$.b.d[9]')", Value.Null
                  "json_value(json, '$.b')", Value.Null
                  "json_value(json, '$.e')", Value.Null
                  "json_value(json, '$.e[1].f')", l 2L
                  "json_value(json, '$.g')", l 1L
                  "json_value(json, '$.h')", Value.Null
                  "json_value(json, '$.i')", d 2.5
                  "json_value(json, '$[\\'k l\\']')", s "sp"
                  "json_value(json, '$[\"b\"][\"c\"]')", s "x"
                  "json_value(json, '$.missing')", Value.Null
                  "json_value(json, '$.a', 'STRING')", s "1"
                  "json_value(json, '$.a', 'DOUBLE')", d 1.0
                  "json_value(json, '$.i', 'LONG')", l 2L
                  "json_value(json, '$.b.c', 'LONG')", Value.Null
                  "json_value(json, '$.g', 'STRING')", s "true"
                  "json_value(json, '$.b.d', 'ARRAY<STRING>')", strs [ "1"; "2"; "3" ]
                  "json_value(json, '$.b.d', 'ARRAY<DOUBLE>')", arr [ d 1.0; d 2.0; d 3.0 ]
                  "json_value(json, '$.a', 'ARRAY<LONG>')", longs [ 1L ]
                  "json_value(json, '$.b.d', 'LONG')", Value.Null
                  "json_value(json, '$.b', 'STRING')", Value.Null
                  "json_value(null, '$.a')", Value.Null
                  "json_value('not json', '$')", s "not json"
                  "json_value(5, '$')", l 5L
                  "json_value('[1, 2.5]', '$')", arr [ d 1.0; d 2.5 ]
                  "json_value('[1, \"a\"]', '$')", strs [ "1"; "a" ]
                  "json_query(json, '$.b')", s """{"c":"x","d":[1,2,3]}"""
                  "json_query(json, '$.b.d')", longs [ 1L; 2L; 3L ]
                  "json_query(json, '$.e')", strs [ """{"f":1}"""; """{"f":2}""" ]
                  "json_query(json, '$.a')", l 1L
                  "json_query(json, '$.missing')", Value.Null
                  "json_query(json, '$')", s """{"a":1,"b":{"c":"x","d":[1,2,3]},"e":[{"f":1},{"f":2}],"g":true,"h":null,"i":2.5,"k l":"sp"}"""
                  "json_query_array(json, '$.e')", strs [ """{"f":1}"""; """{"f":2}""" ]
                  "json_query_array(json, '$.a')", longs [ 1L ]
                  "json_query_array(json, '$.h')", Value.Null
                  "json_query_array(json, '$.zz')", Value.Null
                  "json_value(json_query(json, '$.b'), '$.c')", s "x"
                  "map((x) -> json_value(x, '$.f'), json_query_array(json, '$.e'))", longs [ 1L; 2L ]
                  "json_keys(json, '$')", strs [ "a"; "b"; "e"; "g"; "h"; "i"; "k l" ]
                  "json_keys(json, '$.b.d')", strs [ "0"; "1"; "2" ]
                  "json_keys(json, '$.a')", Value.Null
                  "json_keys(null, '$')", Value.Null
                  "json_paths(json)", strs [ "$.a"; "$.b.c"; "$.b.d"; "$.e[0].f"; "$.e[1].f"; "$.g"; "$.h"; "$.i"; "$.k l" ]
                  "json_paths(json_object('a.b', 1, 'c', json_object('d[0]', 2)))", strs [ "$.['a.b']"; "$.c.['d[0]']" ]
                  "json_paths(5)", strs [ "$" ]
                  "json_paths(null)", strs [ "$" ]
                  "json_value(json, '$.k l')", s "sp"
                  "json_value(json, '')", Value.Null
                  "json_value(5, '')", l 5L
                  "json_object('x', 1, 'y', 'two', 'z', null)", s """{"x":1,"y":"two","z":null}"""
                  "json_object('x', 1.0, 'y', [1, 2])", s """{"x":1.0,"y":[1,2]}"""
                  "json_object('o', json_object('p', 1))", s """{"o":{"p":1}}"""
                  "json_object()", s "{}"
                  "json_value(json_object('o', json_object('p', 1)), '$.o.p')", l 1L
                  "to_json_string(json_object('a', 'x'))", s """{"a":"x"}"""
                  "to_json_string('abc')", s "\"abc\""
                  "to_json_string(1.5)", s "1.5"
                  "to_json_string(1e10)", s "1.0E10"
                  "to_json_string(nums)", s "[3,1,2]"
                  "to_json_string(null)", Value.Null
                  "to_json_string(json)", s """{"a":1,"b":{"c":"x","d":[1,2,3]},"e":[{"f":1},{"f":2}],"g":true,"h":null,"i":2.5,"k l":"sp"}"""
                  "parse_json('{\"a\" : [1, {\"b\": 2}]}')", s """{"a":[1,{"b":2}]}"""
                  "parse_json('[1, {\"b\": 2}]')", arr [ l 1L; s """{"b":2}""" ]
                  "parse_json('\"str\"')", s "str"
                  "parse_json('12')", l 12L
                  "parse_json('true')", s "true"
                  "parse_json('abc')", s "abc"
                  "parse_json('-1')", s "-1"
                  "parse_json('1.5')", d 1.5
                  "parse_json('null')", s "null"
                  "parse_json(null)", Value.Null
                  "parse_json(7)", l 7L
                  "try_parse_json('{bad')", Value.Null
                  "try_parse_json('{\"a\":1}')", s """{"a":1}"""
                  "try_parse_json(7)", Value.Null
                  "json_merge('{\"a\":1,\"b\":{\"x\":1}}', '{\"b\":{\"y\":2},\"c\":3}')", s """{"a":1,"b":{"x":1,"y":2},"c":3}"""
                  "json_merge('{\"a\":1}', '{\"a\":[2]}', json_object('d', 4))", s """{"a":[2],"d":4}"""
                  "json_merge('{\"a\":1}', null)", Value.Null ]
            rejects
                [ "json_value(json, 'a.b')", "Bad format, 'a.b' is not a valid JSONPath path: must start with '$'"
                  "json_value(json, '$.a[*]')", "Bad format, '$.a[*]' is not a valid JSONPath path: expected number for array specifier got * instead"
                  "json_value(json, '$a')", "Bad format, '$a' is not a valid JSONPath path: path parts must be separated with '.'"
                  "json_value(json, '$.a[0')", "Bad format, '$.a[0' is not a valid JSONPath path: unterminated '['"
                  "json_value(json, str)", "Function[json_value] second argument [str] must be a literal [STRING] value"
                  "json_value(json, '$.a', 'BLOB')", "Function[json_value] invalid type [BLOB]"
                  "json_query(json, '$..a')", "Bad format, '$..a' is not a valid 'jq' path: path parts separated by '.' must not be empty"
                  "json_object('a')", "Function[json_object] requires an even number of arguments" ]
            failsAtRow
                [ "parse_json('{bad')", "Bad string input [{bad] to [parse_json]"
                  "json_object(1, 2)", "Function[json_object] field name must be a STRING but got [1]"
                  "json_merge('{}', '[1]')", "Function[json_merge] can only merge JSON objects but got [[1]]" ]
        }
        test "IP address functions" {
            check
                [ "ipv4_match(ip, '192.168.0.0/16')", l 1L
                  "ipv4_match(ip, '192.168.2.0/24')", l 0L
                  "ipv4_match(ipl, '192.168.1.0/24')", l 1L
                  "ipv4_match(ip, '0.0.0.0/0')", l 1L
                  "ipv4_match('not an ip', '0.0.0.0/0')", l 0L
                  "ipv4_match(-1, '0.0.0.0/0')", l 0L
                  "ipv4_match(null, '0.0.0.0/0')", l 0L
                  "ipv4_parse(ip)", l 3232235786L
                  "ipv4_parse('255.255.255.255')", l 4294967295L
                  "ipv4_parse('256.1.1.1')", Value.Null
                  "ipv4_parse('1.2.3')", Value.Null
                  "ipv4_parse(ipl)", l 3232235786L
                  "ipv4_parse(4294967296)", Value.Null
                  "ipv4_parse(null)", Value.Null
                  "ipv4_stringify(ipl)", s "192.168.1.10"
                  "ipv4_stringify(0)", s "0.0.0.0"
                  "ipv4_stringify(ip)", s "192.168.1.10"
                  "ipv4_stringify(-1)", Value.Null
                  "ipv4_stringify('x')", Value.Null
                  "ipv6_match('75e9:efa4:29c6:85f6::232c', '75e9:efa4:29c6:85f6::/64')", l 1L
                  "ipv6_match('75e9:efa4:29c6:85f7::232c', '75e9:efa4:29c6:85f6::/64')", l 0L
                  "ipv6_match('::1', '::/0')", l 1L
                  "ipv6_match('1.2.3.4', '::/0')", l 0L
                  "ipv6_match(null, '::/0')", l 0L ]
            rejects
                [ "ipv4_match(ip, '192.168.0.0/33')", "Function[ipv4_match] subnet arg has an invalid format: 192.168.0.0/33"
                  "ipv4_match(ip, str)", "Function[ipv4_match] subnet argument must be a literal"
                  "ipv6_match(ip, '1.2.3.4/8')", "Function[ipv6_match] subnet arg has an invalid format: 1.2.3.4/8" ]
        }
        test "multi-value rows apply scalar functions per value" {
            check
                [ "lpad(mv, 3, '-')", strs [ "--x"; "--y" ]
                  "strlen(mv)", longs [ 1L; 1L ]
                  "ipv4_parse(mv)", arr [ Value.Null; Value.Null ] ]
        }
        testProperty "array_slice matches Java's Arrays.copyOfRange" <| fun (xs: int64 list) (start: int) (stop: int) ->
            let start, stop = start % 12, stop % 12
            let values = xs |> List.truncate 8
            let r = row [ "xs", longs values; "s", l (int64 start); "e", l (int64 stop) ]
            let expected =
                if start < 0 || start > values.Length || start > stop then Value.Null
                else arr [ for i in start .. stop - 1 -> if i < values.Length then l values.[i] else Value.Null ]
            evalIn r "array_slice(xs, s, e)" = expected
        testProperty "array_concat and array_set_add_all against list oracles" <| fun (xs: int64 list) (ys: int64 list) ->
            let r = row [ "xs", longs xs; "ys", longs ys ]
            evalIn r "array_concat(xs, ys)" = longs (xs @ ys)
            && evalIn r "array_set_add_all(xs, ys)" = longs (xs @ ys |> List.distinct |> List.sort)
            && evalIn r "array_length(array_concat(xs, ys))" = l (int64 (xs.Length + ys.Length))
        testProperty "lpad and rpad against a string oracle" <| fun (NonNull (text: string)) (NonNull (fill: string)) (len: byte) ->
            let len = int len % 40
            let r = row [ "t", s text; "f", s fill; "n", l (int64 len) ]
            let padding = if fill = "" then "" else String.replicate (len / fill.Length + 1) fill
            let left, right =
                if len = 0 then Value.Null, Value.Null
                elif len <= text.Length then s (text.Substring(0, len)), s (text.Substring(0, len))
                elif fill = "" then s text, s text
                else s (padding.Substring(0, len - text.Length) + text), s (text + padding.Substring(0, len - text.Length))
            evalIn r "lpad(t, n, f)" = left && evalIn r "rpad(t, n, f)" = right
        testProperty "string_to_array on a one-character delimiter matches a split oracle" <| fun (parts: bool list) ->
            // Build text from 'a' and ',' so empty pieces, leading and trailing commas all occur.
            let text = String(parts |> List.map (fun p -> if p then 'a' else ',') |> Array.ofList)
            let pieces = text.Split(',') |> List.ofArray
            let trimmed = pieces |> List.rev |> List.skipWhile ((=) "") |> List.rev
            let expected = if not (text.Contains ',') then strs [ text ] else strs trimmed
            evalIn (row [ "t", s text ]) "string_to_array(t, ',')" = expected
        testProperty "bitwise functions match .NET operators on longs" <| fun (x: int64) (y: int64) ->
            let r = row [ "x", l x; "y", l y ]
            evalIn r "bitwiseand(x, y)" = l (x &&& y)
            && evalIn r "bitwiseor(x, y)" = l (x ||| y)
            && evalIn r "bitwisexor(x, y)" = l (x ^^^ y)
            && evalIn r "bitwisecomplement(x)" = l (~~~x)
            && evalIn r "bitwiseshiftleft(x, y)" = l (x <<< int (y &&& 63L))
        testProperty "ipv4_stringify and ipv4_parse are inverse on 32-bit addresses" <| fun (a: uint32) ->
            let r = row [ "a", l (int64 a) ]
            evalIn r "ipv4_parse(ipv4_stringify(a))" = l (int64 a)
        testProperty "any JSONPath text parses or is rejected with a message, and any input reads as JSON" <| fun (NonNull (path: string)) (NonNull (text: string)) ->
            let escaped (t: string) = t.Replace("\\", "\\\\").Replace("'", "\\'")
            let pathResult = Expr.parse (sprintf "json_value(x, '$%s')" (escaped path))
            let r = row [ "x", s ("{" + text + "}") ]
            let read = evalIn r "json_query(x, '$')"
            (match pathResult with Ok _ | Error _ -> true)
            && (match read with Value.String _ -> true | _ -> false)
        testProperty "json_object, to_json_string and parse_json round-trip field values" <| fun (key: NonEmptyString) (v: int64) (NonNull (t: string)) ->
            // Text that is itself a JSON object or array reads back as JSON, by design.
            let looksLikeJson = let x = t.Trim() in x.StartsWith "{" || x.StartsWith "["
            let r = row [ "k", s key.Get; "v", l v; "t", s t ]
            let built = evalIn r "json_object(k, v, 'text', t)"
            let back = row [ "o", built ]
            looksLikeJson
            || (evalIn back "json_value(parse_json(to_json_string(o)), '$.text')" = s t
                && (key.Get = "text" || evalIn back "json_keys(o, '$')" = strs [ key.Get; "text" ]))
        test "expm1 and log1p keep precision near zero" {
            let close (text: string) (expected: float) =
                match evalIn sample text with
                | Value.Double x -> Expect.floatClose Accuracy.veryHigh x expected text
                | other -> failtestf "%s gave %A" text other
            close "expm1(1e-10)" 1.00000000005e-10
            close "log1p(1e-10)" 9.9999999995e-11
            close "expm1(2)" (Math.Exp 2.0 - 1.0)
            close "log1p(3)" (Math.Log 4.0)
        }
    ]
