import type { ReactNode } from 'react';
import { useEffect, useRef, useState } from 'react';

/**
 * A virtualised list: rows have a fixed height and only those in view (plus a margin)
 * exist in the DOM, so 100 000 rows scroll as smoothly as 100.
 */
export function VirtualList<T>(props: {
  items: T[];
  rowHeight: number;
  render: (item: T, index: number) => ReactNode;
  onNearEnd?: () => void;
  testId?: string;
}): ReactNode {
  const { items, rowHeight, render, onNearEnd } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const margin = 10;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - margin);
  const last = Math.min(items.length, Math.ceil((scrollTop + height) / rowHeight) + margin);
  useEffect(() => {
    if (onNearEnd && last >= items.length - margin && items.length > 0) onNearEnd();
  }, [last, items.length, onNearEnd]);
  return (
    <div
      className="vlist"
      ref={ref}
      data-testid={props.testId}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
    >
      <div style={{ height: items.length * rowHeight, position: 'relative' }}>
        {items.slice(first, last).map((item, i) => (
          <div
            key={first + i}
            className="vrow"
            style={{
              position: 'absolute',
              top: (first + i) * rowHeight,
              height: rowHeight,
              left: 0,
              right: 0,
            }}
          >
            {render(item, first + i)}
          </div>
        ))}
      </div>
    </div>
  );
}
