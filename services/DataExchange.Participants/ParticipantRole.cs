namespace DataExchange.Participants;

/// <summary>Who a participant is: a buyer or a seller; or the market's operator (opens markets).</summary>
public enum ParticipantRole { Buyer, Seller, Operator }
