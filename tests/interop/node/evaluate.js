// Evaluate every scale item of a Questionnaire on QuestionnaireResponses with the reference
// FHIRPath engine (npm `fhirpath`, R4 model), as an SDC form filler would: the item's
// `variable` extensions first, then its calculatedExpression.
// stdin: {"questionnaire": {...}, "responses": [{...}, ...]}
// stdout: [{"scale.total": number | null, ...}, ...]
const fhirpath = require("fhirpath");
const r4 = require("fhirpath/fhir-context/r4");

const VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable";
const CALCULATED =
  "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression";

const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const q = input.questionnaire;
const out = input.responses.map((response) => {
  const scores = {};
  for (const item of q.item) {
    const calc = (item.extension || []).find((e) => e.url === CALCULATED);
    if (!calc) continue;
    const env = { questionnaire: q, resource: response };
    for (const ext of item.extension.filter((e) => e.url === VARIABLE)) {
      env[ext.valueExpression.name] = fhirpath.evaluate(
        response, ext.valueExpression.expression, env, r4);
    }
    const result = fhirpath.evaluate(response, calc.valueExpression.expression, env, r4);
    if (result.length > 1) throw new Error(`${item.linkId}: ${result.length} values`);
    scores[item.linkId] = result.length ? result[0] : null;
  }
  return scores;
});
process.stdout.write(JSON.stringify(out));
