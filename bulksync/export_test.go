package bulksync

import "io"

// ReadAll reads every row of r and validates it against the standard schema: the rows' lines
// and every problem, or the file's error.
func ReadAll(r io.Reader, name string, f Format) (lines []int, problems []Problem, err error) {
	rd, _, err := newRowReader(r, name, f)
	if err != nil {
		return nil, nil, err
	}
	s := StandardSchema()
	for {
		raw, err := rd.next()
		if err == io.EOF {
			return lines, problems, nil
		}
		if err != nil {
			return lines, problems, err
		}
		row, ps := s.validate(raw)
		if row != nil {
			lines = append(lines, row.Line)
		}
		problems = append(problems, ps...)
	}
}

// WithMaxJobBytes bounds a Bulk API job's data below Salesforce's limit, as a small org would.
func WithMaxJobBytes(o Options, n int) Options {
	o.maxJobBytes = n
	return o
}
