// The time-travel control: a log position or a date and time; while set, a banner marks every
// page as the past and the page's controls are disabled (nothing can be changed in the past).

import { useState } from 'react';
import { asOfParameter, travelTo, useAsOf } from '../live/time_travel';

export function TimeTravelBar() {
  const asOf = useAsOf();
  const [input, setInput] = useState('');
  return (
    <form
      className="time-travel"
      aria-label="Time travel"
      onSubmit={(e) => {
        e.preventDefault();
        travelTo(asOfParameter(input));
      }}
    >
      <label htmlFor="time-travel-input">Show the datacenter as it was at</label>
      <input id="time-travel-input" value={input} onChange={(e) => setInput(e.target.value)} placeholder="position or 2026-12-07 09:30" />
      <button type="submit">Travel</button>
      {asOf !== '' ? (
        <button
          type="button"
          onClick={() => {
            setInput('');
            travelTo('');
          }}
        >
          Back to now
        </button>
      ) : null}
    </form>
  );
}

export function PastBanner() {
  const asOf = useAsOf();
  if (asOf === '') return null;
  return (
    <div className="past-banner" role="status" data-past={asOf}>
      The past: the datacenter as it was at {/^\d+$/.test(asOf) ? `log position ${asOf}` : asOf}. Nothing on this page is live, and nothing can be changed.
    </div>
  );
}
