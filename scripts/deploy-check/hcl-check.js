#!/usr/bin/env node
// HCL parse + format check for Terraform and Packer files, used by
// scripts/check-deploy.sh when the terraform / packer binaries are not
// installable (no HashiCorp download host is reachable here).
//
// It runs HashiCorp's own Go HCL v2 library compiled to WebAssembly:
//  - parse:  @cdktf/hcl2json (hashicorp/hcl/v2 hclsyntax parser)
//  - format: @cdktf/hcl-tools (hashicorp/hcl/v2 hclwrite.Format, the
//            formatter behind `terraform fmt` and `packer fmt`)
// `terraform fmt` additionally rewrites a few legacy forms (e.g. quoted type
// constraints); those are not covered. Attribute/schema validation needs the
// providers (`terraform validate`) and runs in GitHub Actions only.
//
// Extra lint (--lint-terraform): every variable and output has a description,
// and every variable has a type.
//
// Usage: NODE_PATH=<dir>/node_modules node hcl-check.js [--lint-terraform] FILE...
'use strict';

const fs = require('fs');
const path = require('path');
const { parse } = require('@cdktf/hcl2json');
const { format } = require('@cdktf/hcl-tools');

function unifiedDiff(a, b) {
  const al = a.split('\n');
  const bl = b.split('\n');
  const out = [];
  const n = Math.max(al.length, bl.length);
  for (let i = 0; i < n; i++) {
    if (al[i] !== bl[i]) {
      if (al[i] !== undefined) out.push(`  ${i + 1}: - ${al[i]}`);
      if (bl[i] !== undefined) out.push(`  ${i + 1}: + ${bl[i]}`);
    }
    if (out.length > 40) { out.push('  ...'); break; }
  }
  return out.join('\n');
}

function lintTerraform(file, doc) {
  const problems = [];
  for (const [name, blocks] of Object.entries(doc.variable || {})) {
    const v = blocks[0] || {};
    if (!v.description) problems.push(`variable "${name}" has no description`);
    if (!v.type) problems.push(`variable "${name}" has no type`);
  }
  for (const [name, blocks] of Object.entries(doc.output || {})) {
    const o = blocks[0] || {};
    if (!o.description) problems.push(`output "${name}" has no description`);
  }
  return problems.map((p) => `${file}: ${p}`);
}

async function main() {
  const args = process.argv.slice(2);
  const lint = args[0] === '--lint-terraform';
  const files = lint ? args.slice(1) : args;
  if (files.length === 0) {
    console.error('hcl-check: no files given');
    process.exit(2);
  }
  let failed = 0;
  for (const file of files) {
    const src = fs.readFileSync(file, 'utf8');
    // hcl2json picks the syntax from the extension; *.example is plain HCL.
    const parseName = file.endsWith('.example') ? path.basename(file, '.example') : path.basename(file);
    let doc;
    try {
      doc = await parse(parseName, src);
    } catch (e) {
      console.error(`FAIL parse   ${file}: ${String(e.message || e)}`);
      failed++;
      continue;
    }
    const formatted = await format(src);
    if (formatted !== src) {
      console.error(`FAIL format  ${file} (hclwrite.Format would change it):\n${unifiedDiff(src, formatted)}`);
      failed++;
      continue;
    }
    if (lint && file.endsWith('.tf')) {
      const problems = lintTerraform(file, doc);
      if (problems.length) {
        problems.forEach((p) => console.error(`FAIL lint    ${p}`));
        failed++;
        continue;
      }
    }
    console.log(`ok   ${file}`);
  }
  if (failed) {
    console.error(`hcl-check: ${failed} file(s) failed`);
    process.exit(1);
  }
}

main().catch((e) => { console.error(e); process.exit(2); });
