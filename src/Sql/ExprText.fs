/// Druid expression trees → expression text, as native queries carry them (virtual columns,
/// expression filters and post-aggregators). Operands are parenthesized so the text parses back
/// to the same tree.
module FunctionalDruid.Sql.ExprText

open System
open System.Text
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax

let private escape (quote: char) (s: string) =
    let sb = StringBuilder()
    sb.Append quote |> ignore
    for c in s do
        match c with
        | '\\' -> sb.Append "\\\\" |> ignore
        | c when c = quote -> sb.Append('\\').Append(c) |> ignore
        | c when c < ' ' -> sb.AppendFormat("\\u{0:x4}", int c) |> ignore
        | c -> sb.Append c |> ignore
    sb.Append(quote).ToString()

let stringLiteral (s: string) = escape '\'' s

let identifier (name: string) =
    if name.Length > 0 && (Char.IsLetter name.[0] || name.[0] = '_') && name |> Seq.forall (fun c -> Char.IsLetterOrDigit c || c = '_' || c = '$')
    then name
    else escape '"' name

let rec private literal (v: Value) =
    match v with
    | Value.Null -> "null"
    | Value.String s -> stringLiteral s
    | Value.Long l -> if l < 0L then sprintf "(%d)" l else string l
    | Value.Double d ->
        let t = Value.javaDoubleString d
        if d < 0.0 || t.StartsWith "-" then "(" + t + ")" else t
    | Value.Array xs ->
        "array(" + String.Join(", ", xs |> Array.map literal) + ")"

let rec toText (e: Expr.Expr) : string =
    match e with
    | Expr.Expr.Literal v -> literal v
    | Expr.Expr.Identifier n -> identifier n
    | Expr.Expr.Unary(Negate, x) -> "-" + operand x
    | Expr.Expr.Unary(Not, x) -> "!" + operand x
    | Expr.Expr.Binary(op, l, r) -> operand l + " " + operatorText op + " " + operand r
    | Expr.Expr.Call(name, args) -> name + "(" + String.Join(",", args |> List.map toText) + ")"
    | Expr.Expr.Lambda(ps, body) -> "(" + String.Join(", ", ps) + ") -> " + toText body

and private operand (e: Expr.Expr) =
    match e with
    | Expr.Expr.Binary _ | Expr.Expr.Unary _ | Expr.Expr.Lambda _ -> "(" + toText e + ")"
    | _ -> toText e
