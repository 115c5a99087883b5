import { stepText } from './format';

describe('stepText', () => {
  it('names a step in the largest unit that divides it', () => {
    expect([86_400 * 2, 3600 * 6, 900, 151, 45].map(stepText)).toEqual([
      '2 d',
      '6 h',
      '15 min',
      '151 s',
      '45 s',
    ]);
  });
});
