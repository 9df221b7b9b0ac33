// A checkbox group of categories inside a <details> (the filters and the
// subscription form share it). Nothing checked means "all categories".
import { CATEGORIES, el } from './format.js';

export function categoryPicker(details, { onChange, name = 'category' } = {}) {
  const box = details.querySelector('[data-categories]');
  const summary = details.querySelector('.summary-value');
  box.replaceChildren(...CATEGORIES.map(([value, label]) =>
    el('label', {}, el('input', { type: 'checkbox', name, value }), label)));
  const inputs = [...box.querySelectorAll('input')];
  const update = () => {
    const n = inputs.filter((i) => i.checked).length;
    summary.textContent = n === 0 ? 'all' : `${n} chosen`;
  };
  for (const i of inputs) i.addEventListener('change', () => { update(); onChange?.(); });
  // Escape closes an open filter drop-down and gives focus back to it.
  details.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && details.open) { details.open = false; details.querySelector('summary').focus(); }
  });
  update();
  return {
    values: () => inputs.filter((i) => i.checked).map((i) => i.value),
    set(values) { for (const i of inputs) i.checked = values.includes(i.value); update(); },
  };
}
