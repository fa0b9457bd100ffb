/// (stub until the expr-filter branch lands)
module FunctionalDruid.Core.Expr
type Expr = Ident of string
let parse (s: string) : Result<Expr, string> = Ok(Ident s)
let eval (row: string -> FunctionalDruid.Core.Value) (e: Expr) = match e with Ident s -> row s
let requiredColumns (e: Expr) = match e with Ident s -> [ s ]
