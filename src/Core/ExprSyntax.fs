/// The syntax of Druid's expression language: the tree and a hand-written recursive-descent
/// parser following Druid's grammar (precedence, literals, quoted identifiers, array
/// literals, lambdas). Which functions exist is decided by the caller (see Expr.parse).
module FunctionalDruid.Core.ExprSyntax

open System
open System.Globalization
open System.Text
open FunctionalDruid.Core

type UnaryOp =
    | Negate
    | Not

type BinaryOp =
    | Power
    | Multiply
    | Divide
    | Modulo
    | Add
    | Subtract
    | Less
    | LessOrEqual
    | Greater
    | GreaterOrEqual
    | Equal
    | NotEqual
    | And
    | Or

/// A parsed expression. Function names are lower-cased, as Druid resolves them.
[<RequireQualifiedAccess>]
type Expr =
    | Literal of Value
    | Identifier of string
    | Unary of UnaryOp * Expr
    | Binary of BinaryOp * Expr * Expr
    | Call of name: string * args: Expr list
    /// Only as the first argument of an apply function such as map or fold.
    | Lambda of parameters: string list * body: Expr

let operatorText (op: BinaryOp) =
    match op with
    | Power -> "^" | Multiply -> "*" | Divide -> "/" | Modulo -> "%" | Add -> "+" | Subtract -> "-"
    | Less -> "<" | LessOrEqual -> "<=" | Greater -> ">" | GreaterOrEqual -> ">=" | Equal -> "==" | NotEqual -> "!="
    | And -> "&&" | Or -> "||"

// ---- lexer -------------------------------------------------------------------------------

[<RequireQualifiedAccess>]
type private TokenKind =
    | Long of int64
    | Double of float
    | Str of string
    | Ident of string
    | Null
    | Op of string
    | LParen
    | RParen
    | LBracket
    | RBracket
    | Comma
    | Arrow
    /// `<LONG>`, `ARRAY<STRING>`, ...: the element type of a typed array literal.
    | ArrayType of string
    | End

[<Struct>]
type private Token = { Kind: TokenKind; Pos: int; Text: string }

exception private SyntaxError of position: int * problem: string

let private describe (t: Token) =
    match t.Kind with
    | TokenKind.End -> "end of expression"
    | _ -> sprintf "token '%s'" t.Text

let private isIdentStart (c: char) = Char.IsAsciiLetter c || c = '_' || c = '$'
let private isIdentPart (c: char) = isIdentStart c || Char.IsAsciiDigit c

/// Reads a quoted string or identifier body with Druid's (Java) escapes, from just after
/// the opening quote; returns the text and the position after the closing quote.
let private readQuoted (s: string) (start: int) (quote: char) : string * int =
    let sb = StringBuilder()
    let mutable i = start
    let mutable closed = false
    while not closed do
        if i >= s.Length then raise (SyntaxError(start - 1, sprintf "Unterminated %s" (if quote = '\'' then "string literal" else "quoted identifier")))
        let c = s.[i]
        if c = quote then
            closed <- true
            i <- i + 1
        elif c = '\\' then
            if i + 1 >= s.Length then raise (SyntaxError(i, "Incomplete escape sequence"))
            match s.[i + 1] with
            | '\'' | '"' | '\\' | '/' as e -> sb.Append(e) |> ignore; i <- i + 2
            | 'b' -> sb.Append('\b') |> ignore; i <- i + 2
            | 'f' -> sb.Append('\012') |> ignore; i <- i + 2
            | 'n' -> sb.Append('\n') |> ignore; i <- i + 2
            | 'r' -> sb.Append('\r') |> ignore; i <- i + 2
            | 't' -> sb.Append('\t') |> ignore; i <- i + 2
            | 'u' when i + 6 <= s.Length && Seq.forall Uri.IsHexDigit (s.Substring(i + 2, 4)) ->
                sb.Append(char (Int32.Parse(s.Substring(i + 2, 4), NumberStyles.HexNumber))) |> ignore
                i <- i + 6
            | e -> raise (SyntaxError(i, sprintf "Invalid escape sequence '\\%c'" e))
        else
            sb.Append(c) |> ignore
            i <- i + 1
    sb.ToString(), i

let private tokenize (s: string) : Token[] =
    let tokens = ResizeArray<Token>()
    let n = s.Length
    let mutable i = 0
    let add kind start stop = tokens.Add { Kind = kind; Pos = start; Text = s.Substring(start, stop - start) }
    let startsWith (lit: string) = String.CompareOrdinal(s, i, lit, 0, lit.Length) = 0
    while i < n do
        let c = s.[i]
        let start = i
        if Char.IsWhiteSpace c then i <- i + 1
        elif Char.IsAsciiDigit c then
            while i < n && Char.IsAsciiDigit s.[i] do i <- i + 1
            let mutable isDouble = false
            if i < n && s.[i] = '.' then
                isDouble <- true
                i <- i + 1
                while i < n && Char.IsAsciiDigit s.[i] do i <- i + 1
            if i < n && (s.[i] = 'e' || s.[i] = 'E') then
                let save = i
                i <- i + 1
                if i < n && s.[i] = '-' then i <- i + 1
                if i < n && Char.IsAsciiDigit s.[i] then
                    isDouble <- true
                    while i < n && Char.IsAsciiDigit s.[i] do i <- i + 1
                else i <- save
            let text = s.Substring(start, i - start)
            if isDouble then add (TokenKind.Double(Double.Parse(text, CultureInfo.InvariantCulture))) start i
            else
                match Int64.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture) with
                | true, v -> add (TokenKind.Long v) start i
                | _ when text = "9223372036854775808" -> add (TokenKind.Double 9223372036854775808.0) start i
                | _ -> raise (SyntaxError(start, sprintf "Number %s is out of range for a long" text))
        elif c = '\'' then
            let text, stop = readQuoted s (i + 1) '\''
            tokens.Add { Kind = TokenKind.Str text; Pos = start; Text = s.Substring(start, stop - start) }
            i <- stop
        elif c = '"' then
            let text, stop = readQuoted s (i + 1) '"'
            tokens.Add { Kind = TokenKind.Ident text; Pos = start; Text = s.Substring(start, stop - start) }
            i <- stop
        elif startsWith "ARRAY<" || startsWith "<" && (startsWith "<LONG>" || startsWith "<DOUBLE>" || startsWith "<STRING>") then
            let close = s.IndexOf('>', i)
            let inner = if s.[i] = '<' then s.Substring(i + 1, close - i - 1) else s.Substring(i + 6, max 0 (close - i - 6))
            if close < 0 || not (List.contains inner [ "LONG"; "DOUBLE"; "STRING" ]) then
                raise (SyntaxError(start, "Unsupported array type; expected ARRAY<LONG>, ARRAY<DOUBLE> or ARRAY<STRING>"))
            i <- close + 1
            add (TokenKind.ArrayType inner) start i
        elif isIdentStart c then
            while i < n && isIdentPart s.[i] do i <- i + 1
            let text = s.Substring(start, i - start)
            let kind =
                match text with
                | "null" -> TokenKind.Null
                | "NaN" -> TokenKind.Double Double.NaN
                | "Infinity" -> TokenKind.Double Double.PositiveInfinity
                | _ -> TokenKind.Ident text
            add kind start i
        else
            let two = if i + 1 < n then s.Substring(i, 2) else ""
            match two with
            | "<=" | ">=" | "==" | "!=" | "&&" | "||" -> i <- i + 2; add (TokenKind.Op two) start i
            | "->" -> i <- i + 2; add TokenKind.Arrow start i
            | _ ->
                i <- i + 1
                match c with
                | '(' -> add TokenKind.LParen start i
                | ')' -> add TokenKind.RParen start i
                | '[' -> add TokenKind.LBracket start i
                | ']' -> add TokenKind.RBracket start i
                | ',' -> add TokenKind.Comma start i
                | '+' | '-' | '*' | '/' | '%' | '^' | '<' | '>' | '!' -> add (TokenKind.Op(string c)) start i
                | _ -> raise (SyntaxError(start, sprintf "Unexpected character '%c'" c))
    tokens.Add { Kind = TokenKind.End; Pos = n; Text = "" }
    tokens.ToArray()

// ---- parser ------------------------------------------------------------------------------

/// Checks a call as it is parsed: name (lower-cased), argument count, whether the first
/// argument is a lambda; returns a problem to report at the call's position.
type CallCheck = string -> int -> bool -> string option

type private Parser(tokens: Token[], checkCall: CallCheck) =
    let mutable index = 0
    let mutable depth = 0
    member _.Peek = tokens.[index]
    member _.PeekAt k = tokens.[min (index + k) (tokens.Length - 1)]
    member _.Advance() = let t = tokens.[index] in index <- index + 1; t
    member p.Unexpected() : 'a =
        let t = p.Peek
        raise (SyntaxError(t.Pos, sprintf "Unexpected %s" (describe t)))
    member p.Expect(kind: TokenKind) =
        if p.Peek.Kind = kind then p.Advance() |> ignore else p.Unexpected()

    /// Nesting is bounded so that hostile input cannot overflow the stack.
    member p.Nested(parse: unit -> Expr) : Expr =
        depth <- depth + 1
        if depth > 200 then raise (SyntaxError(p.Peek.Pos, "Expression is nested too deeply"))
        let e = parse ()
        depth <- depth - 1
        e

    member p.ParseExpr() : Expr = p.Nested(fun () -> p.ParseLogical())

    member p.ParseLogical() =
        let mutable left = p.ParseComparison()
        let mutable go = true
        while go do
            match p.Peek.Kind with
            | TokenKind.Op "&&" -> p.Advance() |> ignore; left <- Expr.Binary(And, left, p.ParseComparison())
            | TokenKind.Op "||" -> p.Advance() |> ignore; left <- Expr.Binary(Or, left, p.ParseComparison())
            | _ -> go <- false
        left

    member p.ParseComparison() =
        let mutable left = p.ParseAdditive()
        let mutable go = true
        while go do
            let op =
                match p.Peek.Kind with
                | TokenKind.Op "<" -> Some Less
                | TokenKind.Op "<=" -> Some LessOrEqual
                | TokenKind.Op ">" -> Some Greater
                | TokenKind.Op ">=" -> Some GreaterOrEqual
                | TokenKind.Op "==" -> Some Equal
                | TokenKind.Op "!=" -> Some NotEqual
                | _ -> None
            match op with
            | Some op -> p.Advance() |> ignore; left <- Expr.Binary(op, left, p.ParseAdditive())
            | None -> go <- false
        left

    member p.ParseAdditive() =
        let mutable left = p.ParseMultiplicative()
        let mutable go = true
        while go do
            match p.Peek.Kind with
            | TokenKind.Op "+" -> p.Advance() |> ignore; left <- Expr.Binary(Add, left, p.ParseMultiplicative())
            | TokenKind.Op "-" -> p.Advance() |> ignore; left <- Expr.Binary(Subtract, left, p.ParseMultiplicative())
            | _ -> go <- false
        left

    member p.ParseMultiplicative() =
        let mutable left = p.ParsePower()
        let mutable go = true
        while go do
            match p.Peek.Kind with
            | TokenKind.Op "*" -> p.Advance() |> ignore; left <- Expr.Binary(Multiply, left, p.ParsePower())
            | TokenKind.Op "/" -> p.Advance() |> ignore; left <- Expr.Binary(Divide, left, p.ParsePower())
            | TokenKind.Op "%" -> p.Advance() |> ignore; left <- Expr.Binary(Modulo, left, p.ParsePower())
            | _ -> go <- false
        left

    /// `^` is right-associative and binds looser than the unary operators: -2^2 is 4.
    member p.ParsePower() =
        let left = p.ParseUnary()
        match p.Peek.Kind with
        | TokenKind.Op "^" -> p.Advance() |> ignore; Expr.Binary(Power, left, p.Nested(fun () -> p.ParsePower()))
        | _ -> left

    member p.ParseUnary() =
        match p.Peek.Kind with
        | TokenKind.Op "-" ->
            p.Advance() |> ignore
            match p.Nested(fun () -> p.ParseUnary()) with
            | Expr.Literal(Value.Long v) -> Expr.Literal(Value.Long(-v))
            | Expr.Literal(Value.Double v) -> Expr.Literal(Value.Double(-v))
            | e -> Expr.Unary(Negate, e)
        | TokenKind.Op "!" ->
            p.Advance() |> ignore
            Expr.Unary(Not, p.Nested(fun () -> p.ParseUnary()))
        | _ -> p.ParsePrimary()

    member p.ParsePrimary() : Expr =
        let t = p.Peek
        match t.Kind with
        | TokenKind.Null -> p.Advance() |> ignore; Expr.Literal Value.Null
        | TokenKind.Long v -> p.Advance() |> ignore; Expr.Literal(Value.Long v)
        | TokenKind.Double v -> p.Advance() |> ignore; Expr.Literal(Value.Double v)
        | TokenKind.Str s -> p.Advance() |> ignore; Expr.Literal(Value.String s)
        | TokenKind.LParen ->
            p.Advance() |> ignore
            let e = p.ParseExpr()
            p.Expect TokenKind.RParen
            e
        | TokenKind.Ident name when p.PeekAt(1).Kind = TokenKind.LParen && not (t.Text.StartsWith "\"") ->
            p.Advance() |> ignore
            p.Advance() |> ignore
            let args = ResizeArray<Expr>()
            let hasLambda = p.LambdaAhead()
            if hasLambda then args.Add(p.ParseLambda())
            if p.Peek.Kind <> TokenKind.RParen then
                if hasLambda then p.Expect TokenKind.Comma
                args.Add(p.ParseExpr())
                while p.Peek.Kind = TokenKind.Comma do
                    p.Advance() |> ignore
                    args.Add(p.ParseExpr())
            p.Expect TokenKind.RParen
            let lower = name.ToLowerInvariant()
            match checkCall lower args.Count hasLambda with
            | Some problem -> raise (SyntaxError(t.Pos, problem))
            | None -> Expr.Call(lower, List.ofSeq args)
        | TokenKind.Ident name -> p.Advance() |> ignore; Expr.Identifier name
        | TokenKind.LBracket -> p.ParseArray None
        | TokenKind.ArrayType ty ->
            p.Advance() |> ignore
            if p.Peek.Kind <> TokenKind.LBracket then p.Unexpected()
            p.ParseArray(Some ty)
        | _ -> p.Unexpected()

    /// `x ->`, `() ->` or `(x, y) ->` right after a function's opening parenthesis.
    member p.LambdaAhead() =
        match p.Peek.Kind, p.PeekAt(1).Kind with
        | TokenKind.Ident _, TokenKind.Arrow -> true
        | TokenKind.LParen, _ ->
            let mutable k = 1
            let mutable ok = true
            let mutable expectIdent = true
            while ok && p.PeekAt(k).Kind <> TokenKind.RParen do
                match p.PeekAt(k).Kind with
                | TokenKind.Ident _ when expectIdent -> expectIdent <- false; k <- k + 1
                | TokenKind.Comma when not expectIdent -> expectIdent <- true; k <- k + 1
                | _ -> ok <- false
            ok && p.PeekAt(k + 1).Kind = TokenKind.Arrow
        | _ -> false

    member p.ParseLambda() =
        let names = ResizeArray<string>()
        match p.Peek.Kind with
        | TokenKind.Ident name -> p.Advance() |> ignore; names.Add name
        | _ ->
            p.Expect TokenKind.LParen
            while p.Peek.Kind <> TokenKind.RParen do
                match p.Advance().Kind with
                | TokenKind.Ident name -> names.Add name
                | _ -> ()
            p.Expect TokenKind.RParen
        p.Expect TokenKind.Arrow
        Expr.Lambda(List.ofSeq names, p.ParseExpr())

    /// Array literals hold literal elements of one type; bare ones take their type from the
    /// elements (longs, doubles when any element is a double, or strings).
    member p.ParseArray(declared: string option) =
        p.Expect TokenKind.LBracket
        let items = ResizeArray<Token * Value>()
        let element () =
            let t = p.Peek
            let negative = (match t.Kind with TokenKind.Op "-" -> true | _ -> false)
            if negative then p.Advance() |> ignore
            let t = p.Advance()
            let v =
                match t.Kind with
                | TokenKind.Null when not negative -> Value.Null
                | TokenKind.Long v -> Value.Long(if negative then -v else v)
                | TokenKind.Double v -> Value.Double(if negative then -v else v)
                | TokenKind.Str s when not negative -> Value.String s
                | _ -> raise (SyntaxError(t.Pos, sprintf "Unexpected %s in array literal; elements must be literals" (describe t)))
            items.Add((t, v))
        if p.Peek.Kind <> TokenKind.RBracket then
            element ()
            while p.Peek.Kind = TokenKind.Comma do
                p.Advance() |> ignore
                element ()
        p.Expect TokenKind.RBracket
        let values = items |> Seq.map snd |> Array.ofSeq
        let isStr v = match v with Value.String _ -> true | _ -> false
        let isNum v = match v with Value.Long _ | Value.Double _ -> true | _ -> false
        let toDouble v = match v with Value.Long l -> Value.Double(float l) | v -> v
        let elementType =
            match declared with
            | Some ty -> ty
            | None when values |> Array.exists isStr && values |> Array.exists isNum ->
                let firstNumber = items |> Seq.find (snd >> isNum) |> fst
                raise (SyntaxError(firstNumber.Pos, "Array literal mixes strings and numbers"))
            | None when values |> Array.exists (function Value.Double _ -> true | _ -> false) -> "DOUBLE"
            | None when values |> Array.exists isNum -> "LONG"
            | None -> "STRING"
        let converted =
            values
            |> Array.map (fun v ->
                match elementType, v with
                | _, Value.Null -> Value.Null
                | "LONG", Value.Double d -> Value.Long(int64 d)
                | "LONG", Value.String s ->
                    match Value.toLong (Value.String s) with Some l -> Value.Long l | None -> Value.Null
                | "DOUBLE", v when isNum v -> toDouble v
                | "DOUBLE", Value.String s ->
                    match Value.parseDoubleText s with Some d -> Value.Double d | None -> Value.Null
                | "STRING", v -> Value.String(Value.toStringOrNull v)
                | _, v -> v)
        Expr.Literal(Value.Array converted)

/// Parses expression text; a problem is reported with its character position.
let parse (checkCall: CallCheck) (text: string) : Result<Expr, string> =
    if isNull text then Error "Expression is null"
    else
    let located pos problem = sprintf "%s at position %d in expression \"%s\"" problem pos text
    try
        let tokens = tokenize text
        let parser = Parser(tokens, checkCall)
        if parser.Peek.Kind = TokenKind.End then Error(located 0 "Empty expression")
        else
            let e = parser.ParseExpr()
            if parser.Peek.Kind <> TokenKind.End then parser.Unexpected()
            Ok e
    with SyntaxError(pos, problem) -> Error(located pos problem)
