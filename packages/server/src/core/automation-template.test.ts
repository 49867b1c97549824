import { describe, expect, it } from 'vitest';
import {
  checkTemplate,
  checkValueTemplates,
  escapeHtml,
  lookup,
  renderTemplate,
  renderValue,
} from './automation-template.js';

const scope = {
  eventType: 'Microsoft.MachineLearningServices.RunCompleted',
  topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws',
  subject: 'experiments/e1/runs/r1',
  data: {
    runId: 'r1',
    count: 3,
    ok: true,
    tags: { stage: 'prod' },
    items: [{ n: 'a' }, { n: 'b' }],
    nil: null,
  },
  steps: { train: { jobName: 'job-1', status: 'Completed' } },
  events: [{ id: '1' }, { id: '2' }],
  runId: 'run-9',
  link: 'http://h/x?a=1&b=<2>',
};

describe('renderTemplate', () => {
  it('fills event fields, data paths, step outputs, run fields and array lengths', () => {
    const t =
      '{{eventType}} on {{ topic }}: {{data.runId}} ({{data.count}}, {{data.ok}}) {{steps.train.jobName}} #{{runId}} n={{events.length}}';
    expect(renderTemplate(t, scope)).toBe(
      `${scope.eventType} on ${scope.topic}: r1 (3, true) job-1 #run-9 n=2`,
    );
    expect(renderTemplate('{{data.items.1.n}}/{{data.items.length}}', scope)).toBe('b/2');
  });

  it('renders missing and null values as nothing, objects as JSON', () => {
    expect(renderTemplate('[{{data.missing.deep}}][{{data.nil}}][{{steps.nope.x}}]', scope)).toBe('[][][]');
    expect(renderTemplate('{{data.tags}}', scope)).toBe('{"stage":"prod"}');
  });

  it('escapes inserted values (not the template) in the HTML variant', () => {
    expect(renderTemplate('<a href="{{link}}">{{subject}}</a>', scope, { html: true })).toBe(
      '<a href="http://h/x?a=1&amp;b=&lt;2&gt;">experiments/e1/runs/r1</a>',
    );
    expect(escapeHtml(`"'&<>`)).toBe('&quot;&#39;&amp;&lt;&gt;');
  });

  it("leaves Azure ML's ${{…}} expressions alone", () => {
    expect(renderTemplate('python t.py --data ${{inputs.train}} --run {{runId}}', scope)).toBe(
      'python t.py --data ${{inputs.train}} --run run-9',
    );
    expect(checkTemplate('${{inputs.train}} {{data.x}}', 'f')).toBeDefined();
  });

  it('does not read inherited properties', () => {
    expect(lookup({ data: {} }, 'data.constructor')).toBeUndefined();
    expect(lookup({ data: 'text' }, 'data.length')).toBeUndefined();
  });
});

describe('renderValue', () => {
  it('keeps the type of a whole-placeholder string and renders the others', () => {
    const body = {
      n: '{{data.count}}',
      tags: '{{data.tags}}',
      text: 'run {{data.runId}}',
      list: ['{{data.ok}}', 1],
      none: '{{data.x}}',
    };
    expect(renderValue(body, scope)).toEqual({
      n: 3,
      tags: { stage: 'prod' },
      text: 'run r1',
      list: [true, 1],
      none: null,
    });
  });
});

describe('checkTemplate', () => {
  it('accepts known roots and earlier steps', () => {
    expect(checkTemplate('{{data.a.b}} {{steps.train.x}} {{link}}', 'f', new Set(['train']))).toBeDefined();
  });

  it.each([
    ['{{data.runId}', 'unbalanced'],
    ['{{foo.bar}}', "unknown name 'foo'"],
    ['{{data..x}}', 'is not a path'],
    ['{{ }}', 'is not a path'],
    ['{{steps}}', 'must name a step'],
    ['{{steps.later.x}}', "no earlier step is named 'later'"],
  ])('refuses %s naming the field', (t, message) => {
    expect(() => checkTemplate(t, 'properties.steps[1].subject', new Set(['train']))).toThrow(message);
    try {
      checkTemplate(t, 'properties.steps[1].subject', new Set(['train']));
    } catch (err) {
      expect((err as { target: string }).target).toBe('properties.steps[1].subject');
    }
  });

  it('walks JSON values and names the leaf', () => {
    expect(() => checkValueTemplates({ a: [{ b: '{{nope}}' }] }, 'properties.steps[0]')).toThrow(
      /properties\.steps\[0\]\.a\[0\]\.b/,
    );
  });
});
