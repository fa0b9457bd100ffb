/// Math, bitwise and human-readable-size functions of Druid's expression language, typed as
/// Druid types them: univariate functions accept only numbers (a string argument gives null),
/// bivariate ones pick LONG when both sides are longs, DOUBLE otherwise, and null when both
/// sides are strings.
module FunctionalDruid.Core.ExprMath

open System
open System.Globalization
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprOps
open FunctionalDruid.Core.ExprFunctions

/// Java's `(long) d`: NaN is 0, out-of-range values saturate.
let javaDoubleToLong (d: float) : int64 =
    if Double.IsNaN d then 0L
    elif d >= 9.223372036854775807E18 then Int64.MaxValue
    elif d <= -9.223372036854775808E18 then Int64.MinValue
    else int64 d

/// The operand types a bivariate math function sees after Druid's per-row type detection.
[<RequireQualifiedAccess>]
type private Operands =
    | Longs of int64 * int64
    | Doubles of float * float
    | Neither

/// Druid's `autoDetect`: two strings are no numbers; a null side takes the other's type;
/// a string beside a number is read as a double.
let private detect (a: Value) (b: Value) : Operands =
    match scalar a, scalar b with
    | Value.Null, _ | _, Value.Null -> Operands.Neither
    | Value.String _, Value.String _ -> Operands.Neither
    | Value.Long x, Value.Long y -> Operands.Longs(x, y)
    | x, y ->
        match Value.toDouble x, Value.toDouble y with
        | Some p, Some q -> Operands.Doubles(p, q)
        | _ -> Operands.Neither

/// A one-argument function over a number: longs and doubles have their own paths, anything
/// else (strings included) is null, as in Druid's UnivariateMathFunction.
let private numeric1 (onLong: int64 -> Value) (onDouble: float -> Value) =
    fn1 (fun v ->
        match scalar v with
        | Value.Long l -> onLong l
        | Value.Double d -> onDouble d
        | _ -> Value.Null)

/// Always a double result; a long argument is widened first.
let private doubleFn (f: float -> float) = numeric1 (fun l -> Value.Double(f (float l))) (fun d -> Value.Double(f d))

/// Druid narrows a double argument of a long-only function to a long (null when it does not fit).
let private longFn (f: int64 -> Value) =
    numeric1 f (fun d -> if Double.IsNaN d || d < -9.223372036854775808E18 || d > 9.223372036854775807E18 then Value.Null else f (int64 d))

let private bivariate (onLongs: int64 -> int64 -> Value) (onDoubles: float -> float -> Value) =
    fn2 (fun a b ->
        match detect a b with
        | Operands.Longs(x, y) -> onLongs x y
        | Operands.Doubles(x, y) -> onDoubles x y
        | Operands.Neither -> Value.Null)

let private doubleFn2 (f: float -> float -> float) =
    bivariate (fun x y -> Value.Double(f (float x) (float y))) (fun x y -> Value.Double(f x y))

/// Bitwise functions read both sides as longs (doubles truncated, numeric strings parsed).
let private bitwise (f: int64 -> int64 -> int64) =
    fn2 (fun a b ->
        let asLongJava v =
            match v with
            | Value.Double d -> Some(javaDoubleToLong d)
            | Value.String s ->
                match Value.parseLongText s with
                | Some l -> Some l
                | None -> Value.parseDoubleText s |> Option.map javaDoubleToLong
            | v -> Value.toLong v
        match detect a b with
        | Operands.Neither -> Value.Null
        | _ ->
            match asLongJava (scalar a), asLongJava (scalar b) with
            | Some x, Some y -> Value.Long(f x y)
            | _ -> Value.Null)

/// Java's Math.expm1/log1p keep precision near zero; these are the classic accurate forms.
let private expm1 (x: float) =
    let u = Math.Exp x
    if u = 1.0 then x
    elif u - 1.0 = -1.0 then -1.0
    elif Double.IsInfinity u then u
    else (u - 1.0) * x / Math.Log u

let private log1p (x: float) =
    let u = 1.0 + x
    if u = 1.0 then x
    elif Double.IsInfinity u || u <= 0.0 then Math.Log u
    else Math.Log u * x / (u - 1.0)

/// One Newton step on the platform cube root gives Java's exact results on perfect cubes.
let private cbrt (x: float) =
    let r = Math.Cbrt x
    if r = 0.0 || Double.IsNaN r || Double.IsInfinity r then r
    else
        let refined = r - (r * r * r - x) / (3.0 * r * r)
        if abs (refined * refined * refined - x) < abs (r * r * r - x) then refined else r

let private ulp (d: float) =
    let a = abs d
    if Double.IsNaN a then nan
    elif Double.IsInfinity a then infinity
    elif a = Double.MaxValue then Math.Pow(2.0, 971.0)
    else Math.BitIncrement a - a

let private getExponent (d: float) : int64 =
    int64 ((BitConverter.DoubleToInt64Bits d >>> 52) &&& 0x7FFL) - 1023L

let private nextAfter (start: float) (direction: float) =
    if Double.IsNaN start || Double.IsNaN direction then nan
    elif start < direction then Math.BitIncrement start
    elif start > direction then Math.BitDecrement start
    else direction

/// Java's BigDecimal.valueOf(d).setScale(scale, HALF_UP): rounds the shortest decimal form.
let private roundDouble (d: float) (scale: int) : float =
    if Double.IsNaN d then 0.0
    elif Double.IsInfinity d then (if d > 0.0 then Double.MaxValue else -Double.MaxValue)
    else
        match Decimal.TryParse(d.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, m when scale >= 0 -> float (Math.Round(m, min scale 28, MidpointRounding.AwayFromZero))
        | true, m ->
            let factor = pown 10m (min -scale 28)
            try float (Math.Round(m / factor, MidpointRounding.AwayFromZero) * factor)
            with :? OverflowException -> d
        | _ -> d

let private roundLong (l: int64) (scale: int) : int64 =
    if scale >= 0 then l
    else
        let factor = pown 10m (min -scale 19)
        let r = Math.Round(decimal l / factor, MidpointRounding.AwayFromZero) * factor
        if r > decimal Int64.MaxValue || r < decimal Int64.MinValue then l else int64 r

let private typeName (v: Value) =
    match v with
    | Value.Long _ -> "LONG"
    | Value.Double _ -> "DOUBLE"
    | Value.Array _ -> "ARRAY"
    | _ -> "STRING"

let private round =
    scalarFn (Between(1, 2)) (fun a ->
        match a.[0] with
        | Value.Null -> Value.Null
        | Value.Long _ | Value.Double _ as v ->
            let scale =
                if a.Length < 2 then 0
                else
                    match a.[1] with
                    | Value.Long s -> int (max -1000L (min 1000L s))
                    | other -> fail "round" (sprintf "second argument should be a LONG but got %s instead" (typeName other))
            match v with
            | Value.Long l -> Value.Long(roundLong l scale)
            | Value.Double d -> Value.Double(roundDouble d scale)
            | _ -> Value.Null
        | other -> fail "round" (sprintf "first argument should be a LONG or DOUBLE but got %s instead" (typeName other)))

// ---- human-readable sizes ----------------------------------------------------------------

let private fixedDecimals (d: float) (precision: int) =
    let m = decimal d
    Math.Round(m, precision, MidpointRounding.AwayFromZero).ToString("F" + string precision, CultureInfo.InvariantCulture)

let private binaryUnits = [| ""; "Ki"; "Mi"; "Gi"; "Ti"; "Pi"; "Ei" |]
let private decimalUnits = [| "K"; "M"; "G"; "T"; "P"; "E" |]

/// IEC units (powers of 1024): `1.00 MiB`.
let binaryByteFormat (bytes: int64) (precision: int) : string =
    if bytes > -1024L && bytes < 1024L then sprintf "%d B" bytes
    elif bytes = Int64.MinValue then sprintf "%s EiB" (fixedDecimals -8.0 precision)
    else
        let bits = 63 - Numerics.BitOperations.LeadingZeroCount(uint64 (abs bytes))
        let unit = bits / 10
        sprintf "%s %sB" (fixedDecimals (float bytes / float (1L <<< (unit * 10))) precision) binaryUnits.[unit]

/// SI units (powers of 1000), truncating below the third decimal as Druid does.
let decimalFormat (bytes: int64) (precision: int) (suffix: string) : string =
    if bytes > -1000L && bytes < 1000L then (sprintf "%d %s" bytes suffix).TrimEnd()
    else
        let mutable b = bytes
        let mutable unit = 0
        while b <= -1_000_000L || b >= 1_000_000L do
            b <- b / 1000L
            unit <- unit + 1
        (sprintf "%s %s%s" (fixedDecimals (float b / 1000.0) precision) decimalUnits.[unit] suffix).TrimEnd()

let private sizeFormat (name: string) (format: int64 -> int -> string) =
    scalarFn (Between(1, 2)) (fun a ->
        match a.[0] with
        | Value.Null -> Value.Null
        | Value.Long _ | Value.Double _ as v ->
            let precision =
                if a.Length < 2 then 2L
                else
                    match a.[1] with
                    | Value.Long p -> p
                    | other -> fail name (sprintf "needs a LONG as its second argument but got %s instead" (typeName other))
            if precision < 0L || precision > 3L then fail name (sprintf "given precision[%d] must be in the range of [0,3]" precision)
            let bytes = match v with Value.Long l -> l | Value.Double d -> javaDoubleToLong d | _ -> 0L
            Value.String(format bytes (int precision))
        | other -> fail name (sprintf "needs a number as its first argument but got %s instead" (typeName other)))

// ---- the table ---------------------------------------------------------------------------

/// Java's Math.toDegrees/toRadians multiply by these constants.
let private radiansToDegrees = 57.29577951308232
let private degreesToRadians = 0.017453292519943295

let mathFunctions : (string * FunctionDef) list =
    [ "abs", numeric1 (fun l -> Value.Long(if l = Int64.MinValue then l else abs l)) (fun d -> Value.Double(abs d))
      "ceil", doubleFn Math.Ceiling
      "floor", doubleFn Math.Floor
      "rint", doubleFn (fun d -> Math.Round(d, MidpointRounding.ToEven))
      "signum", doubleFn (fun d -> if Double.IsNaN d || d = 0.0 then d else float (sign d))
      "sqrt", doubleFn Math.Sqrt
      "cbrt", doubleFn cbrt
      "exp", doubleFn Math.Exp
      "expm1", doubleFn expm1
      "log", doubleFn Math.Log
      "log10", doubleFn Math.Log10
      "log1p", doubleFn log1p
      "sin", doubleFn Math.Sin
      "cos", doubleFn Math.Cos
      "tan", doubleFn Math.Tan
      "cot", doubleFn (fun d -> Math.Cos d / Math.Sin d)
      "asin", doubleFn Math.Asin
      "acos", doubleFn Math.Acos
      "atan", doubleFn Math.Atan
      "sinh", doubleFn Math.Sinh
      "cosh", doubleFn Math.Cosh
      "tanh", doubleFn Math.Tanh
      "todegrees", doubleFn (fun r -> r * radiansToDegrees)
      "toradians", doubleFn (fun d -> d * degreesToRadians)
      "ulp", doubleFn ulp
      "nextup", doubleFn Math.BitIncrement
      "getexponent", numeric1 (fun l -> Value.Long(getExponent (float l))) (fun d -> Value.Long(getExponent d))
      "pow", doubleFn2 (fun x y -> Math.Pow(x, y))
      "atan2", doubleFn2 (fun y x -> Math.Atan2(y, x))
      "hypot", doubleFn2 (fun x y -> Double.Hypot(x, y))
      "copysign", doubleFn2 (fun x y -> Math.CopySign(x, y))
      "remainder", doubleFn2 (fun x y -> Math.IEEERemainder(x, y))
      "nextafter", doubleFn2 nextAfter
      "scalb", fn2 (fun a b ->
          match detect a b, Value.toLong (scalar b) with
          | Operands.Neither, _ | _, None -> Value.Null
          | _, Some sf ->
              match Value.toDouble (scalar a) with
              | Some d -> Value.Double(Math.ScaleB(d, int (max -10000L (min 10000L sf))))
              | None -> Value.Null)
      "pi", lazyFn (Exactly 0) (fun _ -> fun _ -> Value.Double Math.PI)
      "max", bivariate (fun x y -> Value.Long(max x y)) (fun x y -> Value.Double(if Double.IsNaN x || Double.IsNaN y then nan else Math.Max(x, y)))
      "min", bivariate (fun x y -> Value.Long(min x y)) (fun x y -> Value.Double(if Double.IsNaN x || Double.IsNaN y then nan else Math.Min(x, y)))
      // Java throws on a long division by zero; a null result keeps one bad row from failing a query.
      "div", bivariate
                (fun x y -> if y = 0L then Value.Null elif y = -1L then Value.Long(0L - x) else Value.Long(x / y))
                (fun x y -> Value.Long(javaDoubleToLong (x / y)))
      "safe_divide", bivariate
                        (fun x y -> if y = 0L then (if x <> 0L then Value.Null else Value.Long 0L) elif y = -1L then Value.Long(0L - x) else Value.Long(x / y))
                        (fun x y -> if y = 0.0 || Double.IsNaN y then (if x <> 0.0 then Value.Null else Value.Double 0.0) else Value.Double(x / y))
      "round", round
      "bitwiseand", bitwise (fun x y -> x &&& y)
      "bitwiseor", bitwise (fun x y -> x ||| y)
      "bitwisexor", bitwise (fun x y -> x ^^^ y)
      "bitwiseshiftleft", bitwise (fun x y -> x <<< int (y &&& 63L))
      "bitwiseshiftright", bitwise (fun x y -> x >>> int (y &&& 63L))
      "bitwisecomplement", longFn (fun l -> Value.Long(~~~l))
      "bitwiseconvertlongbitstodouble", longFn (fun l -> Value.Double(BitConverter.Int64BitsToDouble l))
      "bitwiseconvertdoubletolongbits", numeric1 (fun l -> Value.Long(BitConverter.DoubleToInt64Bits(float l))) (fun d -> Value.Long(BitConverter.DoubleToInt64Bits d))
      "human_readable_binary_byte_format", sizeFormat "human_readable_binary_byte_format" binaryByteFormat
      "human_readable_decimal_byte_format", sizeFormat "human_readable_decimal_byte_format" (fun b p -> decimalFormat b p "B")
      "human_readable_decimal_format", sizeFormat "human_readable_decimal_format" (fun b p -> decimalFormat b p "") ]

/// Druid SQL spells the bitwise functions with underscores (BITWISE_AND); the SQL layer may
/// pass those names through.
let mathAliases =
    [ "bitwise_and", "bitwiseand"; "bitwise_or", "bitwiseor"; "bitwise_xor", "bitwisexor"
      "bitwise_shift_left", "bitwiseshiftleft"; "bitwise_shift_right", "bitwiseshiftright"
      "bitwise_complement", "bitwisecomplement"; "bitwise_convert_long_bits_to_double", "bitwiseconvertlongbitstodouble"
      "bitwise_convert_double_to_long_bits", "bitwiseconvertdoubletolongbits" ]
