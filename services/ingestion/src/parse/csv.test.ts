import { detectDelimiter, parseCsv, parseCsvRecords } from './csv.js';

const lines = (csv: string) => parseCsv(csv).text.split('\n');

describe('CSV delimiter', () => {
  test("an Excel ';' export whose header has as many commas as semicolons is split on ';'", () => {
    // German-locale Excel: `;` between fields, decimal commas and commas in headers left bare.
    const csv = 'Region;Sales, Q1;Sales, Q2\r\nNorth;1,5;2,5\r\nSouth;3,0;4,0\r\n';
    expect(detectDelimiter(csv)).toBe(';');
    expect(lines(csv)).toEqual(['Region: North; Sales, Q1: 1,5; Sales, Q2: 2,5', 'Region: South; Sales, Q1: 3,0; Sales, Q2: 4,0']);
  });

  test('the records decide, not the header: a separator that splits only the header loses', () => {
    // Header: 3 commas, 2 semicolons; only ';' gives every record the same count.
    const csv = 'Name;Note, with, commas, here;Amount\nA;x;1,5\nB;y;2\nC;z;3,25\n';
    expect(detectDelimiter(csv)).toBe(';');
    expect(lines(csv)[0]).toBe('Name: A; Note, with, commas, here: x; Amount: 1,5');
    // A comma file whose rows hold one `;` each, quoted, stays a comma file.
    expect(detectDelimiter('id,tags,name\n1,"a;b",x\n2,"c;d",y\n')).toBe(',');
  });

  test('quoted separators do not count, and tab and pipe files are read', () => {
    expect(detectDelimiter('"a;b;c";"d"\n"1,2,3";"4"\n')).toBe(';');
    expect(parseCsvRecords('name\tcity\n"Smith, John"\tNew York\n')).toEqual([['name', 'city'], ['Smith, John', 'New York']]);
    expect(parseCsvRecords('a|b\n1|2,5\n')).toEqual([['a', 'b'], ['1', '2,5']]);
    // One column: nothing splits it.
    expect(parseCsvRecords('email\na@example.com\n')).toEqual([['email'], ['a@example.com']]);
  });

  test('a ragged file goes by the field count most records share', () => {
    const csv = 'a,b,c\n1,2,3\n4,5\n6,7,8\n9;10,11,12\n';
    expect(detectDelimiter(csv)).toBe(',');
  });
});

describe('CSV quoting', () => {
  test('a quoted field after ", " stays one field, without the space before its quote', () => {
    const csv = 'id, name, city\n1, "Smith, John", "New York, NY"\n';
    expect(parseCsv(csv).text).toBe('id: 1; name: Smith, John; city: New York, NY');
    expect(parseCsvRecords('a,b\n  "x, y"  ,\t"z"\n')[1]).toEqual(['x, y  ', 'z']);
  });

  test('a quote inside a field is text; doubled quotes and newlines in quoted fields as RFC 4180', () => {
    expect(parseCsvRecords('h,w\n5\'10" tall, 3 "in"\n')[1]).toEqual(['5\'10" tall', ' 3 "in"']);
    expect(parseCsvRecords('h,w\n"say ""hi""", "two\nlines"\n')[1]).toEqual(['say "hi"', 'two\nlines']);
  });
});
