/// Array functions of Druid's expression language. Arrays carry no declared element type
/// here, so an array's element type is that of its first non-null element; scalars added to
/// or compared with an array are cast to it, as Druid casts to the array's type.
module FunctionalDruid.Core.ExprArrays

open System
open System.Text.RegularExpressions
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax
open FunctionalDruid.Core.ExprOps
open FunctionalDruid.Core.ExprFunctions

[<RequireQualifiedAccess>]
type ElementType =
    | Long
    | Double
    | String
    /// Empty or all-null arrays, and arrays of arrays: nothing to cast to.
    | Unknown

let elementTypeOf (xs: Value[]) : ElementType =
    match xs |> Array.tryFind (function Value.Null -> false | _ -> true) with
    | Some(Value.Long _) -> ElementType.Long
    | Some(Value.Double _) -> ElementType.Double
    | Some(Value.String _) -> ElementType.String
    | _ -> ElementType.Unknown

/// Druid's castTo for one scalar: strings parse (null when they do not), doubles truncate.
let castElement (target: ElementType) (v: Value) : Value =
    match target, v with
    | _, Value.Null -> Value.Null
    | ElementType.Long, Value.Long _ -> v
    | ElementType.Long, v -> match Value.toLong v with Some l -> Value.Long l | None -> Value.Null
    | ElementType.Double, Value.Double _ -> v
    | ElementType.Double, v -> match Value.toDouble v with Some d -> Value.Double d | None -> Value.Null
    | ElementType.String, Value.String _ -> v
    | ElementType.String, Value.Array _ -> v
    | ElementType.String, v -> Value.String(Value.toStringOrNull v)
    | ElementType.Unknown, v -> v

/// An argument seen as an array: scalars are single-element arrays, null stays null.
let asArray (v: Value) : Value[] option =
    match v with
    | Value.Null -> None
    | Value.Array xs -> Some xs
    | x -> Some [| x |]

let private arrayFn arity (f: Value[] -> Value) = lazyFn arity (fun a -> fun row -> f (a |> Array.map (fun c -> c row)))

/// Element equality after the cast: exact for strings, numeric for numbers, null equals null
/// (Java's Objects.equals, which Druid's array functions use).
let private sameElement (x: Value) (y: Value) =
    match x, y with
    | Value.Null, Value.Null -> true
    | Value.Null, _ | _, Value.Null -> false
    | x, y -> valuesEqual x y

let private containsElement (xs: Value[]) (x: Value) = xs |> Array.exists (sameElement x)

/// Total order of the set functions: nulls first, then numbers or strings (UTF-16 order).
let private compareElements (x: Value) (y: Value) : int =
    match x, y with
    | Value.Null, Value.Null -> 0
    | Value.Null, _ -> -1
    | _, Value.Null -> 1
    | Value.Long a, Value.Long b -> compare a b
    | Value.String a, Value.String b -> String.CompareOrdinal(a, b)
    | a, b ->
        match Value.toDouble a, Value.toDouble b with
        | Some p, Some q -> p.CompareTo q
        | _ -> String.CompareOrdinal(Value.toStringOrNull a, Value.toStringOrNull b)

let private sortedSet (xs: Value[]) : Value =
    let sorted = Array.sortWith compareElements xs
    let kept = ResizeArray<Value>(sorted.Length)
    for x in sorted do
        if kept.Count = 0 || compareElements kept.[kept.Count - 1] x <> 0 then kept.Add x
    Value.Array(kept.ToArray())

let private elementAt (arr: Value) (index: Value) (offset: int64) =
    match asArray arr, asLong index with
    | Some xs, Some i when i - offset >= 0L && i - offset < int64 xs.Length -> xs.[int (i - offset)]
    | _ -> Value.Null

let private indexOf (name: string) (arr: Value) (x: Value) (offset: int64) =
    match asArray arr, x with
    | None, _ -> Value.Null
    | Some _, Value.Array xs when xs.Length > 1 ->
        fail name "second argument must be a a scalar type but got ARRAY<STRING> instead"
    | Some xs, x ->
        let x = castElement (elementTypeOf xs) (scalar x)
        match Array.tryFindIndex (sameElement x) xs with
        | Some i -> Value.Long(int64 i + offset)
        | None -> Value.Null

/// Java's String.split(regex): no limit, trailing empty strings dropped, a zero-width match
/// at the start yields no leading empty string, and capture groups add nothing.
let javaSplit (s: string) (regex: Regex) : Value[] =
    let parts = ResizeArray<string>()
    let mutable start = 0
    let mutable m = regex.Match s
    while m.Success do
        if not (m.Length = 0 && m.Index = 0) && m.Index <= s.Length && not (m.Length = 0 && m.Index >= s.Length) then
            parts.Add(s.Substring(start, m.Index - start))
            start <- m.Index + m.Length
        m <- m.NextMatch()
    if parts.Count = 0 then [| Value.String s |]
    else
        parts.Add(s.Substring start)
        let mutable n = parts.Count
        while n > 0 && parts.[n - 1] = "" do n <- n - 1
        Array.init n (fun i -> Value.String parts.[i])

/// Slices longer than this are null rather than a memory exhaustion.
let private maxSliceLength = 10_000_000L

let private toStringArray (v: Value) =
    match v with
    | Value.Null -> Value.Null
    | Value.Array xs -> Value.Array(xs |> Array.map (fun x -> match x with Value.Null -> Value.Null | x -> Value.String(Value.toStringOrNull x)))
    | x -> Value.Array [| Value.String(Value.toStringOrNull x) |]

/// The first non-null argument decides the element type and the others are cast to it, as
/// in Druid; a double after longs widens the array to doubles instead of being truncated.
let private arrayConstructor =
    arrayFn (AtLeast 1) (fun vs ->
        let vs = vs |> Array.map scalar
        let declared =
            match elementTypeOf vs with
            | ElementType.Long when vs |> Array.exists (function Value.Double _ -> true | _ -> false) -> ElementType.Double
            | t -> t
        Value.Array(vs |> Array.map (castElement declared)))

let arrayFunctions : (string * FunctionDef) list =
    [ "array", arrayConstructor
      "array_length", arrayFn (Exactly 1) (fun a -> match asArray a.[0] with Some xs -> Value.Long(int64 xs.Length) | None -> Value.Null)
      "array_offset", arrayFn (Exactly 2) (fun a -> elementAt a.[0] a.[1] 0L)
      "array_ordinal", arrayFn (Exactly 2) (fun a -> elementAt a.[0] a.[1] 1L)
      // A null second argument makes the answer unknown (null), as Druid's array pair functions do.
      "array_contains", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0], a.[1] with
          | None, _ | _, Value.Null -> Value.Null
          | Some xs, Value.Array ys ->
              let t = elementTypeOf xs
              ofBool (ys |> Array.forall (fun y -> containsElement xs (castElement t y)))
          | Some xs, y ->
              // A value that does not cast to the array's type is not in it (even beside nulls).
              match castElement (elementTypeOf xs) y with
              | Value.Null -> Value.Long 0L
              | element -> ofBool (containsElement xs element))
      "array_overlap", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0], asArray a.[1] with
          | Some xs, Some ys ->
              let t = elementTypeOf xs
              ofBool (ys |> Array.exists (fun y -> containsElement xs (castElement t y)))
          | _ -> Value.Null)
      "scalar_in_array", arrayFn (Exactly 2) (fun a ->
          match scalar a.[0], asArray a.[1] with
          | Value.Null, _ -> Value.Null
          | _, None -> Value.Null
          | x, Some xs -> ofBool (containsElement xs (castElement (elementTypeOf xs) x)))
      "array_offset_of", arrayFn (Exactly 2) (fun a -> indexOf "array_offset_of" a.[0] a.[1] 0L)
      "array_ordinal_of", arrayFn (Exactly 2) (fun a -> indexOf "array_ordinal_of" a.[0] a.[1] 1L)
      "array_prepend", arrayFn (Exactly 2) (fun a ->
          match asArray a.[1] with
          | Some xs -> Value.Array(Array.append [| castElement (elementTypeOf xs) (scalar a.[0]) |] xs)
          | None -> Value.Null)
      "array_append", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0] with
          | Some xs -> Value.Array(Array.append xs [| castElement (elementTypeOf xs) (scalar a.[1]) |])
          | None -> Value.Null)
      "array_concat", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0], asArray a.[1] with
          | Some xs, Some ys ->
              let t = elementTypeOf xs
              Value.Array(Array.append xs (ys |> Array.map (castElement t)))
          | _ -> Value.Null)
      "array_set_add", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0] with
          | Some xs -> sortedSet (Array.append xs [| castElement (elementTypeOf xs) (scalar a.[1]) |])
          | None -> Value.Null)
      "array_set_add_all", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0], asArray a.[1] with
          | Some xs, Some ys ->
              let t = elementTypeOf xs
              sortedSet (Array.append xs (ys |> Array.map (castElement t)))
          | _ -> Value.Null)
      // Java's Arrays.copyOfRange: an end past the array pads with nulls.
      "array_slice", arrayFn (Between(2, 3)) (fun a ->
          match asArray a.[0], asLong a.[1] with
          | Some xs, Some start ->
              let stop = if a.Length > 2 then asLong a.[2] else Some(int64 xs.Length)
              match stop with
              | None -> Value.Null
              | Some stop when start < 0L || start > int64 xs.Length || start > stop || stop - start > maxSliceLength -> Value.Null
              | Some stop ->
                  Value.Array(Array.init (int (stop - start)) (fun i ->
                      let k = int start + i
                      if k < xs.Length then xs.[k] else Value.Null))
          | _ -> Value.Null)
      "array_to_string", arrayFn (Exactly 2) (fun a ->
          match asArray a.[0] with
          | None | Some [| Value.Null |] -> Value.Null
          | Some xs ->
              let delimiter = match asString a.[1] with null -> "" | d -> d
              Value.String(String.Join(delimiter, xs |> Array.map (fun x -> match Value.toStringOrNull x with null -> "null" | s -> s))))
      "string_to_array", specialFn (Exactly 2) (fun compile args ->
          let fixedRegex =
              match args.[1] with
              | Expr.Literal v ->
                  let text = match asString v with null -> "" | t -> t
                  try Some(Regex(text, RegexOptions.CultureInvariant))
                  with :? ArgumentException as ex -> fail "string_to_array" (sprintf "invalid regular expression [%s]: %s" text ex.Message)
              | _ -> None
          let value = compile args.[0]
          let delimiter = compile args.[1]
          fun row ->
              match asString (value row) with
              | null -> Value.Null
              | s ->
                  match fixedRegex with
                  | Some r -> Value.Array(javaSplit s r)
                  | None ->
                      let text = match asString (delimiter row) with null -> "" | t -> t
                      try Value.Array(javaSplit s (Regex(text, RegexOptions.CultureInvariant)))
                      with :? ArgumentException -> Value.Null)
      "mv_to_array", specialFn (Exactly 1) (fun compile args ->
          match args.[0] with
          | Expr.Identifier _ -> let value = compile args.[0] in fun row -> toStringArray (value row)
          | _ -> fail "mv_to_array" "argument should be an identifier expression. Use array() instead")
      "array_to_mv", arrayFn (Exactly 1) (fun a -> toStringArray a.[0]) ]

/// The `mv_` names Druid SQL uses for the same array operations on multi-value strings.
let multiValueAliases =
    [ "mv_length", "array_length"; "mv_offset", "array_offset"; "mv_ordinal", "array_ordinal"
      "mv_contains", "array_contains"; "mv_overlap", "array_overlap"; "mv_offset_of", "array_offset_of"
      "mv_ordinal_of", "array_ordinal_of"; "mv_prepend", "array_prepend"; "mv_append", "array_append"
      "mv_concat", "array_concat"; "mv_slice", "array_slice"; "mv_to_string", "array_to_string"
      "string_to_mv", "string_to_array" ]
