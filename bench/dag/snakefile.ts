/** The benchmark graph (datasets -> models -> attacks -> one aggregate) as a Snakefile, for Snakemake 7. */
export function snakefile(d: readonly string[], m: readonly string[], a: readonly string[]): string {
  return `DATASETS = ${JSON.stringify(d)}
MODELS = ${JSON.stringify(m)}
ATTACKS = ${JSON.stringify(a)}
wildcard_constraints:
    a="[^-/]+", m="[^-/]+", d="[^-/]+"
rule all:
    input: "out/aggregate/table.txt"
rule aggregate:
    input: expand("out/attack/{a}-{m}-{d}", a=ATTACKS, m=MODELS, d=DATASETS)
    output: "out/aggregate/table.txt"
    run:
        with open(output[0], "w") as f:
            for p in input:
                f.write(open(p).read())
rule attack:
    input: "out/train/{m}-{d}"
    output: "out/attack/{a}-{m}-{d}"
    run:
        open(output[0], "w").write(f"{wildcards.a} vs " + open(input[0]).read())
rule train:
    input: "out/dataset/{d}"
    output: "out/train/{m}-{d}"
    run:
        open(output[0], "w").write(f"{wildcards.m} on " + open(input[0]).read())
rule dataset:
    output: "out/dataset/{d}"
    run:
        open(output[0], "w").write(f"dataset {wildcards.d}\\n")
`;
}
